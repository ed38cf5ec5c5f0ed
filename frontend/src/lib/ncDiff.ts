/**
 * What changed between two `.nc` objects (two revisions, or a revision and the editor's document).
 *
 * Nodes are matched by uniquename. Connections are matched by what they join (source node and terminal →
 * destination node and terminal), not by their uniquename: a connection deleted and drawn again between the
 * same terminals is the same connection, and its arbitrary name (`connection.3`) is no change at all.
 */
import type { Json, JsonObject } from './ncGraph';

export interface ValueChange {
  terminal: string;
  /** "input" or "output" (an output's value is the last computed result, or a types/* node's constant). */
  side: 'input' | 'output';
  before: Json | undefined;
  after: Json | undefined;
}

export interface KeyChange {
  /** A node key (`name`, `path`, `requirements`, `layer`, …) or `terminals.<name>` for a terminal's options. */
  key: string;
  before: Json | undefined;
  after: Json | undefined;
}

export interface NodeRef {
  id: string;
  name: string;
}

export interface MovedNode extends NodeRef {
  from: [number, number] | null;
  to: [number, number] | null;
}

export interface ChangedNode extends NodeRef {
  values: ValueChange[];
  keys: KeyChange[];
}

export interface ConnectionRef {
  /** The connection's uniquename in the revision it belongs to (the newer one unless removed). */
  id: string;
  source: string;
  sourceHandle: string;
  target: string;
  targetHandle: string;
  feedback: boolean;
}

export interface NcDiff {
  added: NodeRef[];
  removed: NodeRef[];
  moved: MovedNode[];
  changed: ChangedNode[];
  connectionsAdded: ConnectionRef[];
  connectionsRemoved: ConnectionRef[];
  /** Same ends, but the feedback flag or another key differs. */
  connectionsChanged: (ConnectionRef & { keys: KeyChange[] })[];
  /** Top-level entries that are neither nodes nor connections. */
  othersChanged: string[];
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const same = (a: Json | undefined, b: Json | undefined) => JSON.stringify(a) === JSON.stringify(b);

function pos(node: JsonObject): [number, number] | null {
  const p = node.pos;
  return Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number' ? [p[0], p[1]] : null;
}

function nodesOf(nc: unknown): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  if (!isObject(nc)) return out;
  for (const [key, value] of Object.entries(nc)) if (isObject(value) && value.type === 'Node') out.set(key, value);
  return out;
}

function connectionsOf(nc: unknown): (ConnectionRef & { raw: JsonObject })[] {
  const out: (ConnectionRef & { raw: JsonObject })[] = [];
  if (!isObject(nc)) return out;
  for (const [key, value] of Object.entries(nc)) {
    if (!isObject(value) || value.type !== 'Connection') continue;
    const src = Array.isArray(value.input) ? value.input : [];
    const dst = Array.isArray(value.output) ? value.output : [];
    out.push({
      id: key,
      source: String(src[0]),
      sourceHandle: String(src[1]),
      target: String(dst[0]),
      targetHandle: String(dst[1]),
      feedback: value.feedback === true,
      raw: value,
    });
  }
  return out;
}

const nameOf = (id: string, node: JsonObject) => (typeof node.name === 'string' ? node.name : id);
const endsKey = (c: ConnectionRef) => `${c.source}\u0000${c.sourceHandle}\u0000${c.target}\u0000${c.targetHandle}`;
const strip = ({ raw: _raw, ...ref }: ConnectionRef & { raw: JsonObject }): ConnectionRef => ref;
/** Keys of a connection that are its identity or its name, not a change. */
const CONNECTION_IDENTITY = new Set(['input', 'output', 'name', 'uniquename', 'type']);

function nodeChanges(a: JsonObject, b: JsonObject): { values: ValueChange[]; keys: KeyChange[] } {
  const values: ValueChange[] = [];
  const keys: KeyChange[] = [];
  const ta = isObject(a.terminals) ? a.terminals : {};
  const tb = isObject(b.terminals) ? b.terminals : {};
  for (const name of new Set([...Object.keys(ta), ...Object.keys(tb)])) {
    const x = isObject(ta[name]) ? ta[name] : undefined;
    const y = isObject(tb[name]) ? tb[name] : undefined;
    if (!x || !y) {
      keys.push({ key: `terminals.${name}`, before: x, after: y });
      continue;
    }
    if (!same(x.value, y.value)) {
      const opts = isObject(y.opts) ? y.opts : {};
      values.push({ terminal: name, side: opts.in === true ? 'input' : 'output', before: x.value, after: y.value });
    }
    const { value: _xv, ...xRest } = x;
    const { value: _yv, ...yRest } = y;
    if (!same(xRest, yRest)) keys.push({ key: `terminals.${name}`, before: xRest, after: yRest });
  }
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (key === 'terminals' || key === 'pos') continue;
    if (!same(a[key], b[key])) keys.push({ key, before: a[key], after: b[key] });
  }
  return { values, keys };
}

export function diffNc(before: unknown, after: unknown): NcDiff {
  const diff: NcDiff = {
    added: [], removed: [], moved: [], changed: [],
    connectionsAdded: [], connectionsRemoved: [], connectionsChanged: [], othersChanged: [],
  };
  const na = nodesOf(before);
  const nb = nodesOf(after);
  for (const [id, node] of nb) {
    const old = na.get(id);
    if (!old) {
      diff.added.push({ id, name: nameOf(id, node) });
      continue;
    }
    const from = pos(old);
    const to = pos(node);
    if (!same(from, to)) diff.moved.push({ id, name: nameOf(id, node), from, to });
    const { values, keys } = nodeChanges(old, node);
    if (values.length > 0 || keys.length > 0) diff.changed.push({ id, name: nameOf(id, node), values, keys });
  }
  for (const [id, node] of na) if (!nb.has(id)) diff.removed.push({ id, name: nameOf(id, node) });

  // Connections by their ends; duplicates (the same ends twice) pair up one by one.
  const ca = connectionsOf(before);
  const pool = new Map<string, (ConnectionRef & { raw: JsonObject })[]>();
  for (const c of ca) {
    const list = pool.get(endsKey(c));
    if (list) list.push(c);
    else pool.set(endsKey(c), [c]);
  }
  for (const c of connectionsOf(after)) {
    const old = pool.get(endsKey(c))?.shift();
    if (!old) {
      diff.connectionsAdded.push(strip(c));
      continue;
    }
    const keys: KeyChange[] = [];
    for (const key of new Set([...Object.keys(old.raw), ...Object.keys(c.raw)])) {
      if (CONNECTION_IDENTITY.has(key)) continue;
      // An absent feedback key means false (older files): no change.
      if (key === 'feedback' && old.feedback === c.feedback) continue;
      if (!same(old.raw[key], c.raw[key])) keys.push({ key, before: old.raw[key], after: c.raw[key] });
    }
    if (keys.length > 0) diff.connectionsChanged.push({ ...strip(c), keys });
  }
  for (const list of pool.values()) for (const c of list) diff.connectionsRemoved.push(strip(c));

  const oa = isObject(before) ? before : {};
  const ob = isObject(after) ? after : {};
  for (const key of new Set([...Object.keys(oa), ...Object.keys(ob)])) {
    if (na.has(key) || nb.has(key)) continue;
    const isConn = (v: Json | undefined) => isObject(v) && v.type === 'Connection';
    if (isConn(oa[key]) || isConn(ob[key])) continue;
    if (!same(oa[key], ob[key])) diff.othersChanged.push(key);
  }
  return diff;
}

export function diffIsEmpty(d: NcDiff): boolean {
  return (
    d.added.length + d.removed.length + d.moved.length + d.changed.length +
      d.connectionsAdded.length + d.connectionsRemoved.length + d.connectionsChanged.length + d.othersChanged.length ===
    0
  );
}

/** "1 node added, 1 connection removed, …" for a heading; "no changes" when empty. */
export function diffSummary(d: NcDiff): string {
  const parts: string[] = [];
  const count = (n: number, what: string, how: string) => {
    if (n > 0) parts.push(`${n.toString()} ${what}${n === 1 ? '' : 's'} ${how}`);
  };
  count(d.added.length, 'node', 'added');
  count(d.removed.length, 'node', 'removed');
  count(d.moved.length, 'node', 'moved');
  count(d.changed.length, 'node', 'changed');
  count(d.connectionsAdded.length, 'connection', 'added');
  count(d.connectionsRemoved.length, 'connection', 'removed');
  count(d.connectionsChanged.length, 'connection', 'changed');
  return parts.length > 0 ? parts.join(', ') : 'no changes';
}
