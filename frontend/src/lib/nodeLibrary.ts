/**
 * The node types the palette offers. The server's `GET nodes/library` answers the union of the libraries the
 * user's online runners reported; when it is missing (404, an older server) or empty (no runner online) the
 * palette falls back to the runner package's built-in groups below
 * (runner_client/nodeworks_runner/nodes/group_*.py; terminals as Nodeworks saves them in its own files).
 */
import type { Json } from './ncGraph';
import { parseDtype } from './ncGraph';
import type { NodeTemplate, TerminalTemplate } from './ncEdit';

export interface LibraryNode extends NodeTemplate {
  /** A one-line description (the node's docstring), when known. */
  doc?: string;
  /** From the server: whether a runner online now offers it (false: only offline runners reported it). */
  online?: boolean;
}

const f = (name: string, extra: Partial<TerminalTemplate> = {}): TerminalTemplate => ({ name, in: true, dtype: 'float', value: null, ...extra });
const out = (name: string, dtype?: string, value: Json = null): TerminalTemplate => ({ name, in: false, dtype, value });
const binary = (group: string, name: string, a: string, b: string, doc: string, multi = true): LibraryNode => ({
  path: [group, name],
  doc,
  terminals: [f(a, { multiinput: multi }), f(b, { multiinput: multi }), out('result', 'float')],
});
const gather = (name: string, doc: string): LibraryNode => ({
  path: ['math', name],
  doc,
  terminals: [f('input', { multiinput: true }), out('result', 'float')],
});

export const BUILTIN_NODES: LibraryNode[] = [
  { path: ['types', 'Float'], doc: 'Emits its value as a float.', terminals: [out('float', 'float', 0.0)] },
  { path: ['types', 'Integer'], doc: 'Emits its value as an int.', terminals: [out('int', 'int', 0)] },
  { path: ['types', 'String'], doc: 'Emits its value as a str.', terminals: [out('string', 'str', '')] },
  { path: ['types', 'Boolean'], doc: 'Emits its value as a bool.', terminals: [out('bool', 'bool', false)] },
  gather('Add', 'The sum of every value on input, in order.'),
  gather('Sum', 'The same as Add.'),
  gather('Multiply', 'The product of every value on input, in order.'),
  binary('math', 'Subtract', 'minuend', 'subtrahend', 'minuend − subtrahend.'),
  binary('math', 'Divide', 'dividend', 'divisor', 'dividend ÷ divisor.'),
  binary('math', 'Power', 'base', 'exponent', 'base to the power exponent.'),
  binary('math', 'Root', 'radicand', 'degree', 'The degree-th root of radicand.', false),
  {
    path: ['numpy', 'Range'],
    doc: 'numpy.arange(start, stop, step) of the given type.',
    terminals: [f('start', { value: 0.0 }), f('stop', { value: 10.0 }), f('step', { value: 1.0 }), f('type', { dtype: 'str', value: 'float' }), out('range', 'numpy.ndarray')],
  },
  {
    path: ['numpy', 'Trig'],
    doc: 'sin, cos, tan … of every value.',
    terminals: [f('input', { dtype: 'numpy.ndarray' }), f('operation', { dtype: 'str', value: 'sin' }), out('array', 'numpy.ndarray')],
  },
  {
    path: ['matplotlib', 'Plot'],
    doc: 'Draws each y against x into a PNG artifact.',
    terminals: [f('x', { dtype: 'numpy.ndarray', multiinput: true }), f('y', { dtype: 'numpy.ndarray', multiinput: true })],
  },
  {
    path: ['shell', 'Command'],
    doc: 'Runs command; returns stdout, stderr and returncode.',
    terminals: [f('command', { dtype: 'str', value: '' }), f('check', { dtype: 'bool', value: true }), out('stdout', 'str'), out('stderr', 'str'), out('returncode', 'int')],
  },
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseTerminal(name: string, raw: Record<string, unknown>): TerminalTemplate | null {
  const opts = isObject(raw.opts) ? raw.opts : raw;
  const isIn = opts.in === true || raw.direction === 'in' || raw.kind === 'input';
  const isOut = opts.out === true || raw.direction === 'out' || raw.kind === 'output';
  if (!isIn && !isOut) return null;
  const t: TerminalTemplate = { name, in: isIn, multiinput: opts.multiinput === true, value: (raw.value as Json | undefined) ?? null };
  const dtype = parseDtype(opts.dtype);
  if (dtype !== undefined) t.dtype = dtype;
  return t;
}

/**
 * The server's answer → palette entries; null when it holds no node (then the built-in list is used).
 * Tolerant of the shapes a library may take: a list or `{nodes: [...]}`; terminals as a list of
 * `{name, in, out, multiinput, dtype}` or a Nodeworks-style map of name → `{opts: {...}}`.
 */
export function parseLibrary(body: unknown): LibraryNode[] | null {
  const list = Array.isArray(body) ? body : isObject(body) && Array.isArray(body.nodes) ? body.nodes : null;
  if (!list) return null;
  const nodes: LibraryNode[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    if (!isObject(item)) continue;
    const path = Array.isArray(item.path) ? item.path.map(String) : typeof item.path === 'string' ? item.path.split('/') : null;
    if (!path || path.length === 0) continue;
    const key = path.join('/');
    if (seen.has(key)) continue;
    seen.add(key);
    const terminals: TerminalTemplate[] = [];
    if (Array.isArray(item.terminals)) {
      for (const t of item.terminals) if (isObject(t) && typeof t.name === 'string') {
        const parsed = parseTerminal(t.name, t);
        if (parsed) terminals.push(parsed);
      }
    } else if (isObject(item.terminals)) {
      for (const [name, t] of Object.entries(item.terminals)) if (isObject(t)) {
        const parsed = parseTerminal(name, t);
        if (parsed) terminals.push(parsed);
      }
    }
    // The server gives no default values: the built-in list's defaults fill the terminals it knows.
    const known = BUILTIN_NODES.find((b) => b.path.join('/') === key);
    for (const t of terminals) {
      const fallback = known?.terminals.find((k) => k.name === t.name && k.in === t.in);
      if ((t.value === null || t.value === undefined) && fallback?.value !== undefined) t.value = fallback.value;
    }
    const node: LibraryNode = { path, terminals };
    if (typeof item.name === 'string' && item.name !== path[path.length - 1]) node.name = item.name;
    if (typeof item.online === 'boolean') node.online = item.online;
    const doc = typeof item.doc === 'string' ? item.doc : typeof item.description === 'string' ? item.description : undefined;
    if (doc) node.doc = doc.split('\n', 1)[0];
    nodes.push(node);
  }
  return nodes.length > 0 ? nodes : null;
}

/** Palette groups: by the path's leading parts ("math", "my custom nodes"), sorted, filtered by a search. */
export function groupLibrary(nodes: LibraryNode[], query = ''): { group: string; nodes: LibraryNode[] }[] {
  const q = query.trim().toLowerCase();
  const groups = new Map<string, LibraryNode[]>();
  for (const node of nodes) {
    const text = `${node.path.join('/')} ${node.name ?? ''} ${node.doc ?? ''}`.toLowerCase();
    if (q && !text.includes(q)) continue;
    const group = node.path.slice(0, -1).join(' / ') || '(no group)';
    const list = groups.get(group);
    if (list) list.push(node);
    else groups.set(group, [node]);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, list]) => ({ group, nodes: list }));
}

/** Uniquenames of nodes whose path no online runner offers (marked on the canvas). */
export function unavailableNodes(nodes: { id: string; path: string[] }[], library: LibraryNode[]): Set<string> {
  const known = new Set(library.filter((n) => n.online !== false).map((n) => n.path.join('/')));
  return new Set(nodes.filter((n) => !known.has(n.path.join('/'))).map((n) => n.id));
}
