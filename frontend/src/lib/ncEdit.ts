/**
 * Edits of a `.nc` object. The document the editor holds IS the `.nc` object as loaded; every edit returns a
 * new object that shares every untouched node and connection with the old one (so undo keeps whole
 * snapshots cheaply, and the canvas re-renders only the objects an edit replaced).
 *
 * Nothing is rebuilt from a model: an edit changes only the keys it is about (a position, a terminal's
 * `value`, a node's `requirements`), so terminal options, `layer`, `customState`, `geometry`, connection
 * control points and keys of newer Nodeworks versions all stay as they were, in their order, and a document
 * saved without edits is the loaded JSON exactly.
 */
import type { Json, JsonObject, Position } from './ncGraph';

export type NcDoc = JsonObject;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNode(value: Json | undefined): value is JsonObject {
  return isObject(value) && value.type === 'Node';
}

export function isConnection(value: Json | undefined): value is JsonObject {
  return isObject(value) && value.type === 'Connection';
}

function ends(conn: JsonObject): { source: string | null; target: string | null } {
  const src = Array.isArray(conn.input) && typeof conn.input[0] === 'string' ? conn.input[0] : null;
  const dst = Array.isArray(conn.output) && typeof conn.output[0] === 'string' ? conn.output[0] : null;
  return { source: src, target: dst };
}

/**
 * A name not yet used in `doc` (nor in `taken`), in Nodeworks' style: the base itself, then `base.0`,
 * `base.1`, … (node_ex.nc: `connection`, `connection.0`, `connection.1`).
 */
export function uniqueName(doc: NcDoc, base: string, taken: ReadonlySet<string> = new Set()): string {
  const clean = base.trim().toLowerCase() || 'node';
  if (!(clean in doc) && !taken.has(clean)) return clean;
  for (let i = 0; ; i += 1) {
    const name = `${clean}.${i.toString()}`;
    if (!(name in doc) && !taken.has(name)) return name;
  }
}

/** A copy of `doc` with `key` replaced (same key order), or added at the end. */
function withEntry(doc: NcDoc, key: string, value: JsonObject): NcDoc {
  return { ...doc, [key]: value };
}

/** Positions of nodes; unknown ids are ignored. Positions are written as Nodeworks does: `[x, y]`. */
export function moveNodes(doc: NcDoc, moves: ReadonlyMap<string, Position>): NcDoc {
  let out: NcDoc | null = null;
  for (const [id, pos] of moves) {
    const node = doc[id];
    if (!isNode(node)) continue;
    const x = Math.round(pos.x);
    const y = Math.round(pos.y);
    if (Array.isArray(node.pos) && node.pos[0] === x && node.pos[1] === y) continue;
    out ??= { ...doc };
    out[id] = { ...node, pos: [x, y] };
  }
  return out ?? doc;
}

/** Removes nodes and connections; a removed node takes its connections with it. */
export function removeObjects(doc: NcDoc, ids: Iterable<string>): NcDoc {
  const gone = new Set(ids);
  const nodesGone = new Set([...gone].filter((id) => isNode(doc[id])));
  const out: NcDoc = {};
  let changed = false;
  for (const [key, value] of Object.entries(doc)) {
    let drop = gone.has(key);
    if (!drop && nodesGone.size > 0 && isConnection(value)) {
      const { source, target } = ends(value);
      drop = (source !== null && nodesGone.has(source)) || (target !== null && nodesGone.has(target));
    }
    if (drop) changed = true;
    else out[key] = value;
  }
  return changed ? out : doc;
}

export interface TerminalTemplate {
  name: string;
  in: boolean;
  multiinput?: boolean;
  /** Python's type name: "float", "int", "str", "bool", "numpy.ndarray"; absent when undeclared. */
  dtype?: string;
  value?: Json;
}

export interface NodeTemplate {
  /** The library path, e.g. ["math", "Multiply"]: what the runner looks the node up by. */
  path: string[];
  /** Defaults to the last part of the path. */
  name?: string;
  terminals: TerminalTemplate[];
}

/** The terminal object Nodeworks saves, with the option keys its own files carry (node_ex.nc). */
export function terminalJson(t: TerminalTemplate): JsonObject {
  return {
    value: t.value ?? null,
    flipped: false,
    opts: {
      widget: t.in ? 'lineedit' : null,
      in: t.in,
      out: !t.in,
      showlabel: true,
      dtype: t.dtype ? `<class '${t.dtype}'>` : 'None',
      multiinput: t.multiinput ?? false,
      name: t.name,
    },
  };
}

/** A node from the palette, at `pos`: every key a Nodeworks file has for a node. Returns its uniquename. */
export function addNode(doc: NcDoc, template: NodeTemplate, pos: Position): { doc: NcDoc; id: string } {
  const name = template.name ?? template.path[template.path.length - 1] ?? 'Node';
  const id = uniqueName(doc, name);
  const terminals: JsonObject = {};
  for (const t of template.terminals) terminals[t.name] = terminalJson(t);
  const node: JsonObject = {
    type: 'Node',
    name,
    uniquename: id,
    pos: [Math.round(pos.x), Math.round(pos.y)],
    path: [...template.path],
    terminals,
    tunnel: false,
    forcerun: false,
    hidden: false,
    customState: null,
    layer: 0,
  };
  return { doc: withEntry(doc, id, node), id };
}

export interface ConnectionEnds {
  source: string;
  sourceHandle: string;
  target: string;
  targetHandle: string;
  feedback?: boolean;
}

/** A connection with the keys Nodeworks writes (`input` = source, `output` = destination). */
export function addConnection(doc: NcDoc, c: ConnectionEnds): { doc: NcDoc; id: string } {
  const id = uniqueName(doc, 'connection');
  const conn: JsonObject = {
    type: 'Connection',
    name: id,
    line: 'cubic',
    uniquename: id,
    input: [c.source, c.sourceHandle],
    output: [c.target, c.targetHandle],
    controlpoints: [],
  };
  // Older files have no `feedback` key; a new connection writes it only when it is one.
  if (c.feedback) conn.feedback = true;
  return { doc: withEntry(doc, id, conn), id };
}

/** The saved value of one terminal (an unconnected input's value, or a types/* node's constant). */
export function setTerminalValue(doc: NcDoc, nodeId: string, terminal: string, value: Json): NcDoc {
  const node = doc[nodeId];
  if (!isNode(node) || !isObject(node.terminals) || !isObject(node.terminals[terminal])) return doc;
  const old = node.terminals[terminal];
  if (JSON.stringify(old.value) === JSON.stringify(value)) return doc;
  return withEntry(doc, nodeId, { ...node, terminals: { ...node.terminals, [terminal]: { ...old, value } } });
}

/** A node's `requirements` (docs/nodeworks-format.md "Requirements"); an empty object removes the key. */
export function setRequirements(doc: NcDoc, nodeId: string, requirements: JsonObject): NcDoc {
  const node = doc[nodeId];
  if (!isNode(node)) return doc;
  const next: JsonObject = { ...node };
  if (Object.keys(requirements).length === 0) delete next.requirements;
  else next.requirements = requirements;
  if (JSON.stringify(next) === JSON.stringify(node)) return doc;
  return withEntry(doc, nodeId, next);
}

export interface Clipboard {
  /** Node objects as they were, and the connections between them. */
  nodes: JsonObject[];
  connections: JsonObject[];
}

/** The selected nodes and the connections that join two of them. */
export function copyNodes(doc: NcDoc, ids: Iterable<string>): Clipboard {
  const chosen = new Set([...ids].filter((id) => isNode(doc[id])));
  const nodes: JsonObject[] = [];
  const connections: JsonObject[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (chosen.has(key) && isNode(value)) nodes.push({ ...value, uniquename: key });
    else if (isConnection(value)) {
      const { source, target } = ends(value);
      if (source !== null && target !== null && chosen.has(source) && chosen.has(target)) connections.push(value);
    }
  }
  return { nodes, connections };
}

/** Pastes a clipboard `offset` away from where it was copied, with fresh uniquenames. Returns the new node ids. */
export function paste(doc: NcDoc, clip: Clipboard, offset: Position): { doc: NcDoc; ids: string[] } {
  let out: NcDoc = { ...doc };
  const renamed = new Map<string, string>();
  const ids: string[] = [];
  for (const node of clip.nodes) {
    const old = String(node.uniquename);
    const id = uniqueName(out, typeof node.name === 'string' ? node.name : old);
    renamed.set(old, id);
    const pos = Array.isArray(node.pos) && typeof node.pos[0] === 'number' && typeof node.pos[1] === 'number' ? node.pos : [0, 0];
    out = withEntry(out, id, { ...node, uniquename: id, pos: [Math.round((pos[0] as number) + offset.x), Math.round((pos[1] as number) + offset.y)] });
    ids.push(id);
  }
  for (const conn of clip.connections) {
    const src = conn.input as Json[];
    const dst = conn.output as Json[];
    const id = uniqueName(out, 'connection');
    out = withEntry(out, id, {
      ...conn,
      name: id,
      uniquename: id,
      input: [renamed.get(String(src[0])) ?? String(src[0]), src[1]],
      output: [renamed.get(String(dst[0])) ?? String(dst[0]), dst[1]],
    });
  }
  return { doc: out, ids };
}

/** Turns a connection into a feedback one or back. */
export function setFeedback(doc: NcDoc, connectionId: string, feedback: boolean): NcDoc {
  const conn = doc[connectionId];
  if (!isConnection(conn) || (conn.feedback === true) === feedback) return doc;
  return withEntry(doc, connectionId, { ...conn, feedback });
}
