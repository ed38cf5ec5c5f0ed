import type { GraphModel } from '../ncGraph';
import { NODE_WIDTH, nodeHeight } from './nodeSize';

export type LayoutReason = 'missing' | 'overlap' | null;

/** Two boxes overlap "too much" when they share more than this part of the smaller one. */
const OVERLAP_SHARE = 0.25;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function sharedArea(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Whether the saved positions cannot be drawn as they are: a node without a position, or nodes lying on
 * top of each other (files written by scripts often put every node at [0, 0]). Linear time: boxes go into
 * grid cells as large as the biggest node, so only neighbouring cells are compared.
 */
export function needsLayout(model: GraphModel): LayoutReason {
  if (model.nodes.length === 0) return null;
  const boxes: Box[] = [];
  for (const node of model.nodes) {
    if (!node.pos) return 'missing';
    boxes.push({ x: node.pos.x, y: node.pos.y, w: NODE_WIDTH, h: nodeHeight(node.inputs.length, node.outputs.length) });
  }
  const cellW = NODE_WIDTH;
  const cellH = Math.max(...boxes.map((b) => b.h));
  const grid = new Map<string, number[]>();
  for (let i = 0; i < boxes.length; i++) {
    const cx = Math.floor(boxes[i].x / cellW);
    const cy = Math.floor(boxes[i].y / cellH);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const j of grid.get(`${(cx + dx).toString()},${(cy + dy).toString()}`) ?? []) {
          const smaller = Math.min(boxes[i].w * boxes[i].h, boxes[j].w * boxes[j].h);
          if (sharedArea(boxes[i], boxes[j]) > OVERLAP_SHARE * smaller) return 'overlap';
        }
      }
    }
    const key = `${cx.toString()},${cy.toString()}`;
    const cell = grid.get(key);
    if (cell) cell.push(i);
    else grid.set(key, [i]);
  }
  return null;
}
