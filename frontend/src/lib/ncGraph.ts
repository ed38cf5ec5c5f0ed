/**
 * A Nodeworks `.nc` object ↔ the graph model the canvas draws (and part 2 will edit).
 *
 * The `.nc` top level maps each object's uniquename to a Node or a Connection (SPEC.md "The workflow file").
 * A Connection's `input` is its SOURCE [node, output terminal] and its `output` the DESTINATION
 * [node, input terminal]: the names are from the connection's point of view, easy to get backwards.
 *
 * The model keeps each object's original JSON (`raw`) so that `modelToNc` writes back every key it does not
 * understand untouched: what is published is what `get` returns, and a round trip is the identity.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface TerminalModel {
  name: string;
  /** Saved value: for inputs the value used when unconnected; for outputs the last computed one. */
  value: Json;
  multiinput: boolean;
  /** "float", "int", "str", "numpy.ndarray", … from opts.dtype "<class 'float'>"; absent when unknown. */
  dtype?: string;
}

export interface Position {
  x: number;
  y: number;
}

export interface NodeModel {
  /** The uniquename: the `.nc` key, the task's node name in runs, the canvas node id. */
  id: string;
  name: string;
  path: string[];
  /** null when the file has no usable position (then the graph is laid out). */
  pos: Position | null;
  inputs: TerminalModel[];
  outputs: TerminalModel[];
  /** The `.nc` object as read (not modified by the model; `modelToNc` starts from it). */
  raw: JsonObject;
}

export interface EdgeModel {
  /** The connection's uniquename. */
  id: string;
  source: string;
  /** Output terminal name on the source node (the handle id). */
  sourceHandle: string;
  target: string;
  /** Input terminal name on the target node (the handle id). */
  targetHandle: string;
  /** Feedback connections take last run's value and never order tasks: drawn dashed. */
  feedback: boolean;
  raw: JsonObject;
}

export interface GraphModel {
  nodes: NodeModel[];
  edges: EdgeModel[];
  /** Top-level entries that are neither Node nor Connection, kept for the round trip. */
  others: Record<string, Json>;
  /** The file's top-level key order, so the written file lists objects as the read one did. */
  order: string[];
  /** What could not be drawn (a connection to a missing node, …): shown to the user, never thrown. */
  problems: string[];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "<class 'numpy.ndarray'>" → "numpy.ndarray"; "None"/missing → undefined; other strings as they are. */
export function parseDtype(dtype: unknown): string | undefined {
  if (typeof dtype !== 'string' || dtype === '' || dtype === 'None') return undefined;
  const match = /^<class '([^']+)'>$/.exec(dtype);
  return match ? match[1] : dtype;
}

function parsePos(pos: unknown): Position | null {
  if (!Array.isArray(pos) || pos.length < 2) return null;
  const [x, y] = pos as unknown[];
  return typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y) ? { x, y } : null;
}

function terminalsOf(node: JsonObject): { inputs: TerminalModel[]; outputs: TerminalModel[] } {
  const inputs: TerminalModel[] = [];
  const outputs: TerminalModel[] = [];
  const terminals = isObject(node.terminals) ? node.terminals : {};
  for (const [name, terminal] of Object.entries(terminals)) {
    if (!isObject(terminal)) continue;
    const opts = isObject(terminal.opts) ? terminal.opts : {};
    const model: TerminalModel = {
      name,
      value: terminal.value ?? null,
      multiinput: opts.multiinput === true,
    };
    const dtype = parseDtype(opts.dtype);
    if (dtype !== undefined) model.dtype = dtype;
    if (opts.in === true) inputs.push(model);
    if (opts.out === true) outputs.push(model);
  }
  return { inputs, outputs };
}

function endpoint(value: unknown): [string, string] | null {
  return Array.isArray(value) && value.length >= 2 && typeof value[0] === 'string' && typeof value[1] === 'string'
    ? [value[0], value[1]]
    : null;
}

/**
 * `previous`: the model of an earlier version of the same document (the editor's last one). A node or
 * connection whose JSON object is the very same object as then keeps its model object, so the canvas
 * (GraphElementCache, memoised NwNode) redraws only what an edit replaced: a drag in a 2,000-node graph
 * re-renders one node, not 2,000.
 */
export function ncToModel(nc: unknown, previous?: GraphModel | null): GraphModel {
  const oldNodes = new Map(previous?.nodes.map((n) => [n.id, n]));
  const oldEdges = new Map(previous?.edges.map((e) => [e.id, e]));
  const model: GraphModel = { nodes: [], edges: [], others: {}, order: [], problems: [] };
  if (!isObject(nc)) {
    model.problems.push('the workflow file is not a JSON object');
    return model;
  }
  const connections: [string, JsonObject][] = [];
  const nodes = new Map<string, NodeModel>();
  for (const [key, value] of Object.entries(nc)) {
    model.order.push(key);
    const reused = oldNodes.get(key);
    if (reused && reused.raw === value) {
      nodes.set(key, reused);
      model.nodes.push(reused);
    } else if (isObject(value) && value.type === 'Node') {
      const { inputs, outputs } = terminalsOf(value);
      const node: NodeModel = {
        id: key,
        name: typeof value.name === 'string' ? value.name : key,
        path: Array.isArray(value.path) ? value.path.map(String) : [],
        pos: parsePos(value.pos),
        inputs,
        outputs,
        raw: value,
      };
      nodes.set(key, node);
      model.nodes.push(node);
    } else if (isObject(value) && value.type === 'Connection') {
      connections.push([key, value]);
    } else {
      model.others[key] = value;
    }
  }
  for (const [key, value] of connections) {
    const reused = oldEdges.get(key);
    if (reused && reused.raw === value && nodes.has(reused.source) && nodes.has(reused.target)) {
      model.edges.push(reused);
      continue;
    }
    // `input` is where the value comes FROM, `output` where it goes TO.
    const source = endpoint(value.input);
    const target = endpoint(value.output);
    const sourceNode = source && nodes.get(source[0]);
    const targetNode = target && nodes.get(target[0]);
    if (!source || !target || !sourceNode || !targetNode) {
      model.problems.push(`connection ${key} joins a node that is not in the file`);
      model.others[key] = value;
      continue;
    }
    if (!sourceNode.outputs.some((t) => t.name === source[1]) || !targetNode.inputs.some((t) => t.name === target[1])) {
      model.problems.push(`connection ${key} names a terminal its node does not have`);
      model.others[key] = value;
      continue;
    }
    model.edges.push({
      id: key,
      source: source[0],
      sourceHandle: source[1],
      target: target[0],
      targetHandle: target[1],
      feedback: value.feedback === true,
      raw: value,
    });
  }
  return model;
}

function samePos(raw: Json | undefined, pos: Position | null): boolean {
  const old = parsePos(raw);
  if (!old || !pos) return old === pos;
  return old.x === pos.x && old.y === pos.y;
}

function newTerminals(node: NodeModel): JsonObject {
  const terminals: JsonObject = {};
  const add = (t: TerminalModel, isIn: boolean) => {
    const opts: JsonObject = { in: isIn, out: !isIn, multiinput: t.multiinput };
    if (t.dtype !== undefined) opts.dtype = `<class '${t.dtype}'>`;
    terminals[t.name] = { value: t.value, flipped: false, opts };
  };
  node.inputs.forEach((t) => add(t, true));
  node.outputs.forEach((t) => add(t, false));
  return terminals;
}

function nodeToNc(node: NodeModel): JsonObject {
  // A node made in the browser (empty raw) gets the keys Nodeworks writes, with defaults.
  if (Object.keys(node.raw).length === 0) {
    return {
      type: 'Node',
      name: node.name,
      uniquename: node.id,
      pos: node.pos ? [node.pos.x, node.pos.y] : [0, 0],
      path: node.path,
      terminals: newTerminals(node),
      tunnel: false,
      forcerun: false,
      hidden: false,
      customState: null,
      layer: 0,
    };
  }
  // Only what the model may change is written; every other key (terminal opts, layer, customState, geometry,
  // requirements, keys of newer Nodeworks versions) is the raw object's.
  const out: JsonObject = { ...node.raw };
  if (node.raw.type === undefined) out.type = 'Node';
  out.uniquename = node.id;
  if (node.raw.name !== node.name) out.name = node.name;
  if (node.raw.path === undefined || JSON.stringify(node.raw.path) !== JSON.stringify(node.path)) out.path = node.path;
  if (!samePos(node.raw.pos, node.pos) && node.pos) out.pos = [node.pos.x, node.pos.y];
  return out;
}

function edgeToNc(edge: EdgeModel): JsonObject {
  const out: JsonObject = { ...edge.raw };
  if (edge.raw.type === undefined) out.type = 'Connection';
  if (edge.raw.name === undefined) out.name = edge.id;
  if (Object.keys(edge.raw).length === 0) {
    // Made in the browser: the keys Nodeworks writes. A read connection keeps exactly the keys it had.
    out.line = 'cubic';
    out.controlpoints = [];
  }
  out.uniquename = edge.id;
  const source = endpoint(edge.raw.input);
  const target = endpoint(edge.raw.output);
  if (!source || source[0] !== edge.source || source[1] !== edge.sourceHandle) out.input = [edge.source, edge.sourceHandle];
  if (!target || target[0] !== edge.target || target[1] !== edge.targetHandle) out.output = [edge.target, edge.targetHandle];
  // The key is optional (older files lack it): absent stays absent unless the edge became a feedback one.
  if ((edge.raw.feedback === true) !== edge.feedback) out.feedback = edge.feedback;
  return out;
}

/** The `.nc` object of a model: the original key order first, new objects after, removed ones gone. */
export function modelToNc(model: GraphModel): JsonObject {
  const objects = new Map<string, Json>();
  for (const node of model.nodes) objects.set(node.id, nodeToNc(node));
  for (const edge of model.edges) objects.set(edge.id, edgeToNc(edge));
  for (const [key, value] of Object.entries(model.others)) objects.set(key, value);
  const out: JsonObject = {};
  for (const key of model.order) {
    const value = objects.get(key);
    if (value !== undefined) {
      out[key] = value;
      objects.delete(key);
    }
  }
  for (const [key, value] of objects) out[key] = value;
  return out;
}

/** Connected (destination) input terminals, as "node\u0000terminal" keys. */
export function connectedInputs(model: GraphModel): Set<string> {
  return new Set(model.edges.map((e) => `${e.target}\u0000${e.targetHandle}`));
}

export interface OverridableTerminal {
  node: NodeModel;
  terminal: TerminalModel;
  /** The execute API's key: "node.terminal". */
  key: string;
  kind: 'input' | 'constant';
}

/**
 * The terminals a run may override (the execute API's rule): unconnected inputs, and the outputs of nodes
 * without inputs (`types/Integer` and friends, whose saved output is the constant they emit).
 */
export function overridableTerminals(model: GraphModel): OverridableTerminal[] {
  const connected = connectedInputs(model);
  const out: OverridableTerminal[] = [];
  for (const node of model.nodes) {
    if (node.inputs.length === 0) {
      for (const terminal of node.outputs) out.push({ node, terminal, key: `${node.id}.${terminal.name}`, kind: 'constant' });
      continue;
    }
    for (const terminal of node.inputs) {
      if (!connected.has(`${node.id}\u0000${terminal.name}`)) {
        out.push({ node, terminal, key: `${node.id}.${terminal.name}`, kind: 'input' });
      }
    }
  }
  return out;
}
