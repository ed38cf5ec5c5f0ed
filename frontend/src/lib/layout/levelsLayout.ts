import type { Position } from '../ncGraph';

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
  inputs: string[];
  outputs: string[];
}

export interface LayoutEdge {
  id: string;
  source: string;
  sourceHandle: string;
  target: string;
  targetHandle: string;
}

export interface LayoutInput {
  nodes: LayoutNode[];
  /** Feedback connections are left out by the caller: they never order tasks and would make cycles. */
  edges: LayoutEdge[];
}

export const LAYER_GAP = 90;
export const NODE_GAP = 28;

/**
 * A plain layered layout: each node in the column of its longest path from a source, stacked in columns.
 * Linear time, used for graphs too big for elk's crossing minimisation to finish in a few seconds, and as
 * the fallback when elk fails. Nodes on a cycle (a bad file) end in the last column rather than looping.
 */
export function levelsLayout(input: LayoutInput): Map<string, Position> {
  const index = new Map(input.nodes.map((n, i) => [n.id, i]));
  const succ: number[][] = input.nodes.map(() => []);
  const indegree = new Array<number>(input.nodes.length).fill(0);
  for (const e of input.edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined || s === t) continue;
    succ[s].push(t);
    indegree[t] += 1;
  }
  const level = new Array<number>(input.nodes.length).fill(0);
  const queue: number[] = [];
  indegree.forEach((d, i) => d === 0 && queue.push(i));
  const placed = new Array<boolean>(input.nodes.length).fill(false);
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head];
    placed[i] = true;
    for (const t of succ[i]) {
      level[t] = Math.max(level[t], level[i] + 1);
      if (--indegree[t] === 0) queue.push(t);
    }
  }
  const maxLevel = Math.max(0, ...level);
  placed.forEach((ok, i) => {
    if (!ok) level[i] = maxLevel + 1;
  });
  const columns: number[][] = [];
  level.forEach((l, i) => (columns[l] ??= []).push(i));
  const widths = columns.map((col) => Math.max(0, ...(col ?? []).map((i) => input.nodes[i].width)));
  const positions = new Map<string, Position>();
  let x = 0;
  columns.forEach((col, l) => {
    let y = 0;
    for (const i of col ?? []) {
      positions.set(input.nodes[i].id, { x, y });
      y += input.nodes[i].height + NODE_GAP;
    }
    x += (widths[l] ?? 0) + LAYER_GAP;
  });
  return positions;
}
