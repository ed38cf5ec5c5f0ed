import { describe, expect, it } from 'vitest';
import { NODE_WIDTH, nodeHeight } from './layout/nodeSize';
import { ncToModel } from './ncGraph';
import { freeOffset, freeSpot } from './placement';
import { readFixture } from './__fixtures__/samples';

describe('freeSpot', () => {
  const model = ncToModel(readFixture('feedback.nc'));

  it('keeps a free point', () => {
    expect(freeSpot(model, { x: 2000, y: 2000 }, 0, 1)).toEqual({ x: 2000, y: 2000 });
  });

  it('moves off a node to the nearest spot that overlaps none', () => {
    const counter = model.nodes[0];
    const spot = freeSpot(model, counter.pos!, 0, 1);
    expect(spot).not.toEqual(counter.pos);
    const h = nodeHeight(0, 1);
    for (const n of model.nodes) {
      const nh = nodeHeight(n.inputs.length, n.outputs.length);
      const overlaps = spot.x < n.pos!.x + NODE_WIDTH && n.pos!.x < spot.x + NODE_WIDTH && spot.y < n.pos!.y + nh && n.pos!.y < spot.y + h;
      expect(overlaps).toBe(false);
    }
  });
});

describe('freeOffset', () => {
  it('shifts a pasted copy until none of its nodes lands on a node', () => {
    const model = ncToModel(readFixture('feedback.nc'));
    const pasted = model.nodes.map((n) => ({ pos: n.pos!, inputs: n.inputs.length, outputs: n.outputs.length }));
    const offset = freeOffset(model, pasted, { x: 40, y: 40 });
    expect(offset.x).toBeGreaterThan(40);
    expect(offset.x).toBe(offset.y);
    expect(freeOffset(model, [{ pos: { x: 5000, y: 0 }, inputs: 0, outputs: 1 }], { x: 40, y: 40 })).toEqual({ x: 40, y: 40 });
  });
});
