/// <reference types="node" />
import ELK from 'elkjs/lib/elk.bundled.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ncToModel, type GraphModel } from '../ncGraph';
import { portId, toElkGraph } from './elkGraph';
import { layoutInput } from './layoutGraph';
import { levelsLayout } from './levelsLayout';
import { needsLayout } from './needsLayout';
import { NODE_WIDTH, nodeHeight } from './nodeSize';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../__fixtures__');

function chain(n: number, pos: (i: number) => [number, number] | undefined): GraphModel {
  const nc: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const p = pos(i);
    nc[`n${i.toString()}`] = {
      type: 'Node',
      name: `N${i.toString()}`,
      uniquename: `n${i.toString()}`,
      path: ['math', 'Add'],
      ...(p ? { pos: p } : {}),
      terminals: {
        a: { value: 1, opts: { in: true, out: false } },
        r: { value: null, opts: { in: false, out: true } },
      },
    };
    if (i > 0) {
      nc[`c${i.toString()}`] = {
        type: 'Connection',
        name: `c${i.toString()}`,
        uniquename: `c${i.toString()}`,
        input: [`n${(i - 1).toString()}`, 'r'],
        output: [`n${i.toString()}`, 'a'],
      };
    }
  }
  return ncToModel(nc);
}

function overlaps(model: GraphModel, positions: Map<string, { x: number; y: number }>): number {
  const boxes = model.nodes.map((n) => ({ ...positions.get(n.id)!, h: nodeHeight(n.inputs.length, n.outputs.length) }));
  let count = 0;
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.x < b.x + NODE_WIDTH && b.x < a.x + NODE_WIDTH && a.y < b.y + b.h && b.y < a.y + a.h) count++;
    }
  return count;
}

describe('needsLayout', () => {
  it('accepts well spread positions', () => {
    expect(needsLayout(chain(50, (i) => [i * 300, (i % 3) * 200]))).toBeNull();
    expect(needsLayout(ncToModel(JSON.parse(readFileSync(join(fixtures, 'feedback.nc'), 'utf8'))))).toBeNull();
  });

  it('asks for a layout when a position is missing', () => {
    expect(needsLayout(chain(5, (i) => (i === 3 ? undefined : [i * 300, 0])))).toBe('missing');
    expect(needsLayout(ncToModel(JSON.parse(readFileSync(join(fixtures, 'no_positions.nc'), 'utf8'))))).toBe('missing');
  });

  it('asks for a layout when nodes lie on top of each other', () => {
    expect(needsLayout(chain(3, () => [0, 0]))).toBe('overlap');
    // Far apart except two in the middle, which share most of their box.
    expect(needsLayout(chain(200, (i) => (i === 150 ? [100 * 300 + 20, 10] : [i * 300, 0])))).toBe('overlap');
  });

  it('tolerates a small touch, as hand-placed Nodeworks sheets have', () => {
    expect(needsLayout(chain(2, (i) => [i * (NODE_WIDTH - 20), i * 60]))).toBeNull();
  });

  // Its speed on large graphs is measured by bench/web_graph.mjs, not timed here (a busy machine made it flaky).
  it('finds no overlap among 20,000 well-spaced nodes, and the one overlap among them', () => {
    const spaced = (i: number): [number, number] => [(i % 100) * 300, Math.floor(i / 100) * 200];
    expect(needsLayout(chain(20000, spaced))).toBeNull();
    expect(needsLayout(chain(20000, (i) => (i === 19999 ? spaced(0) : spaced(i))))).toBe('overlap');
  });

  it('has nothing to lay out in an empty graph', () => {
    expect(needsLayout(ncToModel({}))).toBeNull();
  });
});

describe('levelsLayout', () => {
  it('puts each node one column right of its deepest parent, without overlaps', () => {
    const model = chain(4, () => undefined);
    const positions = levelsLayout(layoutInput(model));
    const xs = model.nodes.map((n) => positions.get(n.id)!.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(xs).size).toBe(4);
    expect(overlaps(model, positions)).toBe(0);
  });

  it('survives a cycle (a bad file) instead of looping', () => {
    const input = layoutInput(chain(3, () => undefined));
    input.edges.push({ id: 'back', source: 'n2', sourceHandle: 'r', target: 'n0', targetHandle: 'a' });
    expect(levelsLayout(input).size).toBe(3);
  });

  it('leaves feedback connections out of the layout', () => {
    const model = ncToModel(JSON.parse(readFileSync(join(fixtures, 'feedback.nc'), 'utf8')));
    expect(layoutInput(model).edges.map((e) => e.id)).toEqual(['connection', 'connection.1']);
  });
});

describe('elk layout', () => {
  it('builds ports on the right sides and lays out a graph without overlaps, left to right', async () => {
    const model = ncToModel(JSON.parse(readFileSync(join(fixtures, 'no_positions.nc'), 'utf8')));
    const graph = toElkGraph(layoutInput(model));
    expect(graph.edges?.[0]).toMatchObject({ sources: [portId('a', 'out', 'float')], targets: [portId('b', 'in', 'input')] });
    const result = await new ELK().layout(graph);
    const positions = new Map((result.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]));
    expect(positions.size).toBe(3);
    expect(overlaps(model, positions)).toBe(0);
    expect(positions.get('a')!.x).toBeLessThan(positions.get('b')!.x);
  });
});
