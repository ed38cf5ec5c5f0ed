/**
 * May this connection be drawn? The editor asks while a connection is dragged (the handle under the pointer
 * turns red or green) and again on drop; a refusal carries the reason in words, shown to the user.
 *
 * The rules are the server's (docs/nodeworks-format.md "Connections"), checked early so nobody meets them
 * first as a 400 at publish time: output to input only, one connection into an input that is not
 * multiinput, compatible dtypes where both terminals declare one, and no cycle unless the cycle goes
 * through a feedback connection (one that carries last run's value instead of ordering the tasks).
 */
import type { EdgeModel, GraphModel, NodeModel } from './ncGraph';

export interface ProposedConnection {
  source: string;
  /** Output terminal of the source node. */
  sourceHandle: string;
  target: string;
  /** Input terminal of the target node. */
  targetHandle: string;
  /** A feedback connection may close a cycle. */
  feedback?: boolean;
}

export type ConnectionCheck = { ok: true } | { ok: false; reason: string };

/** Declared types that take anything: Python's object and typing's Any. */
const ANY = new Set(['object', 'typing.Any', 'Any']);
/** What a value of each kind may flow into besides its own kind (Python casts these without loss of meaning). */
const WIDENS_TO: Record<string, string[]> = {
  bool: ['int', 'float', 'complex'],
  int: ['float', 'complex'],
  float: ['complex'],
  // A list and an array carry the same values; the numpy nodes accept either.
  list: ['numpy.ndarray', 'tuple'],
  tuple: ['numpy.ndarray', 'list'],
  'numpy.ndarray': ['list', 'tuple'],
};

/** numpy's sized scalars count as Python's own: numpy.float64 → float, numpy.int32 → int. */
function family(dtype: string): string {
  const m = /^numpy\.(bool|int|float|complex)\d*_?$/.exec(dtype);
  return m ? m[1] : dtype;
}

/** Can a value of dtype `from` go into a terminal of dtype `to`? Undeclared on either side: yes. */
export function dtypesCompatible(from: string | undefined, to: string | undefined): boolean {
  if (from === undefined || to === undefined) return true;
  const a = family(from);
  const b = family(to);
  return a === b || ANY.has(a) || ANY.has(b) || (WIDENS_TO[a]?.includes(b) ?? false);
}

function label(node: NodeModel): string {
  return node.name === node.id ? node.name : `${node.name} (${node.id})`;
}

/** The non-feedback path from `from` to `to` as node ids, or null. */
function pathBetween(edges: EdgeModel[], from: string, to: string): string[] | null {
  const children = new Map<string, string[]>();
  for (const e of edges) {
    if (e.feedback) continue;
    const list = children.get(e.source);
    if (list) list.push(e.target);
    else children.set(e.source, [e.target]);
  }
  const cameFrom = new Map<string, string>([[from, from]]);
  const queue = [from];
  while (queue.length > 0) {
    const node = queue.shift()!;
    if (node === to) {
      const path = [to];
      let at = to;
      while (at !== from) {
        at = cameFrom.get(at)!;
        path.unshift(at);
      }
      return path;
    }
    for (const child of children.get(node) ?? []) {
      if (!cameFrom.has(child)) {
        cameFrom.set(child, node);
        queue.push(child);
      }
    }
  }
  return null;
}

export function checkConnection(model: GraphModel, c: ProposedConnection): ConnectionCheck {
  const source = model.nodes.find((n) => n.id === c.source);
  const target = model.nodes.find((n) => n.id === c.target);
  if (!source || !target) return { ok: false, reason: 'That node is not in the workflow any more.' };
  const out = source.outputs.find((t) => t.name === c.sourceHandle);
  const inp = target.inputs.find((t) => t.name === c.targetHandle);
  if (!out) {
    return {
      ok: false,
      reason: source.inputs.some((t) => t.name === c.sourceHandle)
        ? `“${c.sourceHandle}” of ${label(source)} is an input: a connection goes from an output (right side) to an input (left side).`
        : `${label(source)} has no output “${c.sourceHandle}”.`,
    };
  }
  if (!inp) {
    return {
      ok: false,
      reason: target.outputs.some((t) => t.name === c.targetHandle)
        ? `“${c.targetHandle}” of ${label(target)} is an output: a connection goes from an output (right side) to an input (left side).`
        : `${label(target)} has no input “${c.targetHandle}”.`,
    };
  }
  const into = model.edges.filter((e) => e.target === c.target && e.targetHandle === c.targetHandle);
  const same = into.find((e) => e.source === c.source && e.sourceHandle === c.sourceHandle);
  if (same) return { ok: false, reason: `${label(source)}.${c.sourceHandle} is already connected to ${label(target)}.${c.targetHandle}.` };
  if (!inp.multiinput && into.length > 0) {
    const other = model.nodes.find((n) => n.id === into[0].source);
    return {
      ok: false,
      reason: `Input “${c.targetHandle}” of ${label(target)} takes one connection and already has one (from ${other ? label(other) : into[0].source}.${into[0].sourceHandle}). Delete that connection first.`,
    };
  }
  if (!dtypesCompatible(out.dtype, inp.dtype)) {
    return {
      ok: false,
      reason: `Types do not match: ${label(source)}.${c.sourceHandle} gives ${out.dtype ?? '?'}, ${label(target)}.${c.targetHandle} takes ${inp.dtype ?? '?'}.`,
    };
  }
  if (!c.feedback) {
    if (c.source === c.target) {
      return { ok: false, reason: `A node cannot feed itself unless the connection is a feedback connection (it then takes the last run’s value).` };
    }
    const back = pathBetween(model.edges, c.target, c.source);
    if (back) {
      const names = [...back, c.target].map((id) => model.nodes.find((n) => n.id === id)?.name ?? id);
      return {
        ok: false,
        reason: `This would make a cycle (${names.join(' → ')}). Only a feedback connection, which takes the last run’s value, may close a loop.`,
      };
    }
  }
  return { ok: true };
}
