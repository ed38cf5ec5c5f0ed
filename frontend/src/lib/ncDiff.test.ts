import { describe, expect, it } from 'vitest';
import { diffIsEmpty, diffNc, diffSummary } from './ncDiff';
import { addConnection, addNode, moveNodes, removeObjects, setFeedback, setRequirements, setTerminalValue } from './ncEdit';
import type { JsonObject } from './ncGraph';
import { BUILTIN_NODES } from './nodeLibrary';
import { readFixture, readSample, requireSamples, SAMPLE_NAMES, samplesPresent } from './__fixtures__/samples';

const float = BUILTIN_NODES.find((n) => n.path.join('/') === 'types/Float')!;

describe('diffNc on hand-made pairs', () => {
  const base = readFixture('feedback.nc') as JsonObject;

  it('finds nothing between a document and itself', () => {
    const d = diffNc(base, JSON.parse(JSON.stringify(base)));
    expect(diffIsEmpty(d)).toBe(true);
    expect(diffSummary(d)).toBe('no changes');
  });

  it('lists added, removed and moved nodes, and the connections that went with them', () => {
    let next = removeObjects(base, ['one']);
    next = addNode(next, float, { x: 0, y: 0 }).doc;
    next = moveNodes(next, new Map([['counter', { x: 300, y: 200 }]]));
    const d = diffNc(base, next);
    expect(d.added).toEqual([{ id: 'float', name: 'Float' }]);
    expect(d.removed).toEqual([{ id: 'one', name: 'One' }]);
    expect(d.moved).toEqual([{ id: 'counter', name: 'Counter', from: [100, 200], to: [300, 200] }]);
    expect(d.changed).toEqual([]);
    expect(d.connectionsRemoved.map((c) => c.id)).toEqual(['connection', 'connection.1']);
    expect(diffSummary(d)).toBe('1 node added, 1 node removed, 1 node moved, 2 connections removed');
  });

  it('lists changed terminal values with before and after, and changed keys', () => {
    let next = setTerminalValue(base, 'counter', 'a', 5);
    next = setRequirements(next, 'counter', { executor: 'shell' });
    const d = diffNc(base, next);
    expect(d.changed).toEqual([
      {
        id: 'counter',
        name: 'Counter',
        values: [{ terminal: 'a', side: 'input', before: 1, after: 5 }],
        keys: [{ key: 'requirements', before: { executor: 'shell', tags: ['gpu'], retries: 2 }, after: { executor: 'shell' } }],
      },
    ]);
  });

  it('matches connections by their ends, not their names', () => {
    // The same connection deleted and drawn again gets a new name: no change.
    const redrawn = addConnection(removeObjects(base, ['connection']), { source: 'one', sourceHandle: 'int', target: 'counter', targetHandle: 'a' }).doc;
    const d = diffNc(base, redrawn);
    expect(d.connectionsAdded).toEqual([]);
    expect(d.connectionsRemoved).toEqual([]);
    // A new connection, and a feedback flag turned on.
    const d2 = diffNc(base, setFeedback(addConnection(base, { source: 'one', sourceHandle: 'int', target: 'counter', targetHandle: 'previous' }).doc, 'connection', true));
    expect(d2.connectionsAdded).toMatchObject([{ source: 'one', target: 'counter', targetHandle: 'previous', feedback: false }]);
    expect(d2.connectionsChanged).toMatchObject([{ id: 'connection', keys: [{ key: 'feedback', before: undefined, after: true }] }]);
  });

  it('pairs duplicate connections one by one', () => {
    // feedback.nc joins one.int → counter.a twice; dropping one is one removal.
    const d = diffNc(base, removeObjects(base, ['connection.1']));
    expect(d.connectionsRemoved.map((c) => c.id)).toEqual(['connection.1']);
  });
});

describe('diffNc on the real samples', () => {
  requireSamples();
  it.skipIf(!samplesPresent).each(SAMPLE_NAMES)('%s against itself: no changes', (name) => {
    const a = readSample(name);
    expect(diffIsEmpty(diffNc(a.json, JSON.parse(a.text)))).toBe(true);
  });

  it.skipIf(!samplesPresent)('demo1.nc → demo.nc: every object differs', () => {
    const d = diffNc(readSample('demo1.nc').json, readSample('demo.nc').json);
    expect(d.added.map((n) => n.id)).toEqual(['range', 'trig', 'trig.0', 'plot']);
    expect(d.removed.map((n) => n.id)).toEqual(['multiply', 'float', 'float.0']);
    expect(d.connectionsAdded).toHaveLength(4 + 1);
    expect(d.connectionsRemoved).toHaveLength(2);
  });

  it.skipIf(!samplesPresent)('node_ex.nc and the edit of the browser spec', () => {
    const doc = readSample('node_ex.nc').json as JsonObject;
    let next = moveNodes(doc, new Map([['root', { x: 5257, y: 5420 }]]));
    next = removeObjects(next, ['connection']);
    const added = addNode(next, float, { x: 5000, y: 5150 });
    next = setTerminalValue(added.doc, added.id, 'float', 2);
    next = addConnection(next, { source: 'float', sourceHandle: 'float', target: 'multiply', targetHandle: 'input' }).doc;
    const d = diffNc(doc, next);
    expect(d.added).toEqual([{ id: 'float', name: 'Float' }]);
    expect(d.moved.map((n) => n.id)).toEqual(['root']);
    expect(d.connectionsRemoved).toMatchObject([{ source: 'power', sourceHandle: 'result', target: 'multiply', targetHandle: 'input' }]);
    expect(d.connectionsAdded).toMatchObject([{ source: 'float', sourceHandle: 'float', target: 'multiply', targetHandle: 'input' }]);
    expect(diffSummary(d)).toBe('1 node added, 1 node moved, 1 connection added, 1 connection removed');
  });
});
