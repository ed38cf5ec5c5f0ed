/// <reference types="node" />
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GraphElementCache, nodeRunView } from './graphElements';
import { ncToModel } from './ncGraph';
import { planHighlight } from './planHighlight';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');
const model = ncToModel(JSON.parse(readFileSync(join(fixtures, 'feedback.nc'), 'utf8')));

describe('GraphElementCache', () => {
  it('keeps node objects whose look did not change across polls', () => {
    const cache = new GraphElementCache();
    const first = cache.buildNodes(model, { counter: { state: 'queued' }, one: { state: 'running' } }, null, null);
    const second = cache.buildNodes(model, { counter: { state: 'queued' }, one: { state: 'succeeded' } }, null, null);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    expect(second[1].data.run).toEqual({ state: 'succeeded', word: 'succeeded', hint: null });
    const third = cache.buildNodes(model, { counter: { state: 'queued' }, one: { state: 'succeeded' } }, null, 'counter');
    expect(third[0]).not.toBe(second[0]);
    expect(third[0].selected).toBe(true);
    expect(third[1]).toBe(second[1]);
  });

  it('places nodes at the model positions with their known size', () => {
    const [counter] = new GraphElementCache().buildNodes(model, null, null, null);
    expect(counter.position).toEqual({ x: 100, y: 200 });
    expect(counter.width).toBe(220);
    expect(counter.data.run).toBeNull();
  });

  it('draws feedback edges dashed and keeps edges across polls', () => {
    const cache = new GraphElementCache();
    const edges = cache.buildEdges(model, null);
    expect(edges.find((e) => e.id === 'connection.0')).toMatchObject({
      source: 'counter',
      sourceHandle: 'result',
      target: 'counter',
      targetHandle: 'previous',
      style: { strokeDasharray: '6 4' },
      type: 'feedback',
    });
    expect(cache.buildEdges(model, null)).toBe(edges);
  });

  it('marks the critical path and dims the rest while the plan is shown', () => {
    const plan = planHighlight({ levels: [['one'], ['counter']], critical_path: { one: 2, counter: 1 } }, model.edges);
    const cache = new GraphElementCache();
    const nodes = cache.buildNodes(model, null, plan, null);
    expect(nodes.map((n) => [n.id, n.data.level, n.data.critical])).toEqual([
      ['counter', 1, true],
      ['one', 0, true],
    ]);
    const edges = cache.buildEdges(model, plan);
    expect(edges.find((e) => e.id === 'connection')?.className).toBe('critical');
    expect(edges.find((e) => e.id === 'connection.0')?.className).toBe('feedback dimmed');
  });
});

describe('nodeRunView', () => {
  it('words the state with what the status knows', () => {
    expect(nodeRunView({ state: 'leased', runner: 'r1' })?.word).toBe('picked up by r1');
    expect(nodeRunView({ state: 'succeeded', started: '2026-01-01T00:00:00Z', finished: '2026-01-01T00:00:00.800Z' })?.word).toBe(
      'succeeded in 0.8 s',
    );
    expect(nodeRunView(undefined)).toBeNull();
    expect(nodeRunView({ state: 'queued', waiting: { reason: 'no_runner', detail: 'no runner has tags [gpu]' } })?.hint).toBe(
      'no runner has tags [gpu]',
    );
    expect(nodeRunView({ state: 'failed', error: 'boom\ntraceback' })?.hint).toBe('boom');
  });
});

describe('editing a 2,000-node graph', () => {
  it('a moved node is the only new canvas object: the other 1,999 are the same objects', async () => {
    const { moveNodes } = await import('./ncEdit');
    const doc: Record<string, unknown> = {};
    for (let i = 0; i < 2000; i += 1) {
      const id = `n${i.toString()}`;
      doc[id] = {
        type: 'Node', name: id, uniquename: id, pos: [(i % 50) * 260, Math.floor(i / 50) * 140], path: ['math', 'Add'],
        terminals: { input: { value: null, opts: { in: true, multiinput: true } }, result: { value: null, opts: { out: true } } },
      };
      if (i > 0) doc[`c${i.toString()}`] = { type: 'Connection', input: [`n${(i - 1).toString()}`, 'result'], output: [id, 'input'] };
    }
    const cache = new GraphElementCache();
    const before = ncToModel(doc);
    const first = cache.buildNodes(before, null, null, new Set());
    const moved = moveNodes(doc as never, new Map([['n1000', { x: 5, y: 5 }]]));
    const after = ncToModel(moved, before);
    const second = cache.buildNodes(after, null, null, new Set());
    const changed = second.filter((n, i) => n !== first[i]);
    expect(changed.map((n) => n.id)).toEqual(['n1000']);
    expect(changed[0].position).toEqual({ x: 5, y: 5 });
  });
});
