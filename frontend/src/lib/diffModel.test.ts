import { describe, expect, it } from 'vitest';
import { diffCanvas, removedEdgeId } from './diffModel';
import { diffNc } from './ncDiff';
import { addConnection, addNode, moveNodes, removeObjects, setTerminalValue } from './ncEdit';
import type { JsonObject } from './ncGraph';
import { BUILTIN_NODES } from './nodeLibrary';
import { readFixture } from './__fixtures__/samples';

describe('diffCanvas', () => {
  it('draws the newer graph plus what was removed, each object marked', () => {
    const before = readFixture('feedback.nc') as JsonObject;
    let after = removeObjects(before, ['one']);
    const added = addNode(after, BUILTIN_NODES[0], { x: 0, y: 0 });
    after = addConnection(added.doc, { source: added.id, sourceHandle: 'float', target: 'counter', targetHandle: 'a' }).doc;
    after = moveNodes(setTerminalValue(after, 'counter', 'a', 3), new Map([['counter', { x: 1, y: 1 }]]));
    const canvas = diffCanvas(before, after, diffNc(before, after));
    expect(canvas.model.nodes.map((n) => n.id)).toEqual(['counter', 'float', 'one']);
    expect(Object.fromEntries(canvas.marks)).toEqual({ counter: 'changed', float: 'added', one: 'removed' });
    // `connection` is taken again by the new one: the removed one gets its own canvas id.
    expect(Object.fromEntries(canvas.edgeMarks)).toEqual({
      connection: 'added',
      [removedEdgeId('connection')]: 'removed',
      [removedEdgeId('connection.1')]: 'removed',
    });
    expect(new Set(canvas.model.edges.map((e) => e.id)).size).toBe(canvas.model.edges.length);
  });
});
