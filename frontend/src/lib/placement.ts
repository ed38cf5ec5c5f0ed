/**
 * Where a node added from the palette lands: at the point asked (the middle of the view, or where it was
 * dropped) when that is free, else the nearest free spot around it, so a new node never hides another.
 */
import { NODE_WIDTH, nodeHeight } from './layout/nodeSize';
import type { GraphModel, Position } from './ncGraph';

const MARGIN = 24;
const STEP = 40;

function boxesOf(model: GraphModel) {
  return model.nodes
    .filter((n) => n.pos)
    .map((n) => ({ x: n.pos!.x, y: n.pos!.y, w: NODE_WIDTH, h: nodeHeight(n.inputs.length, n.outputs.length) }));
}

function isFree(boxes: ReturnType<typeof boxesOf>, p: Position, h: number): boolean {
  return boxes.every((b) => p.x + NODE_WIDTH + MARGIN <= b.x || b.x + b.w + MARGIN <= p.x || p.y + h + MARGIN <= b.y || b.y + b.h + MARGIN <= p.y);
}

/**
 * How far to shift pasted nodes (given where they were copied) so that none lands on a node: the first of
 * `start`, then further down-right steps, where every pasted node is free.
 */
export function freeOffset(model: GraphModel, pasted: { pos: Position; inputs: number; outputs: number }[], start: Position): Position {
  const boxes = boxesOf(model);
  for (let k = 0; k < 200; k += 1) {
    const offset = { x: start.x + k * STEP, y: start.y + k * STEP };
    if (pasted.every((n) => isFree(boxes, { x: n.pos.x + offset.x, y: n.pos.y + offset.y }, nodeHeight(n.inputs, n.outputs)))) return offset;
  }
  return start;
}

export function freeSpot(model: GraphModel, at: Position, inputs: number, outputs: number): Position {
  const h = nodeHeight(inputs, outputs);
  const boxes = boxesOf(model);
  const free = (p: Position) => isFree(boxes, p, h);
  if (free(at)) return at;
  // Rings of growing radius around the point, nearest first; a big graph is searched a bounded number of steps.
  for (let ring = 1; ring <= 60; ring += 1) {
    const candidates: Position[] = [];
    for (let i = -ring; i <= ring; i += 1) {
      candidates.push({ x: at.x + i * STEP, y: at.y - ring * STEP }, { x: at.x + i * STEP, y: at.y + ring * STEP });
      if (Math.abs(i) !== ring) candidates.push({ x: at.x - ring * STEP, y: at.y + i * STEP }, { x: at.x + ring * STEP, y: at.y + i * STEP });
    }
    candidates.sort((a, b) => Math.hypot(a.x - at.x, a.y - at.y) - Math.hypot(b.x - at.x, b.y - at.y));
    const spot = candidates.find(free);
    if (spot) return spot;
  }
  return at;
}
