import { describe, expect, it } from 'vitest';
import type { EdgeModel } from './ncGraph';
import { planHighlight } from './planHighlight';

function edge(id: string, source: string, target: string, feedback = false): EdgeModel {
  return { id, source, sourceHandle: 'out', target, targetHandle: 'in', feedback, raw: {} };
}

describe('planHighlight', () => {
  it('follows the longest remaining path and maps levels', () => {
    // a → b → d, a → c, with b's branch the longer one.
    const edges = [edge('ab', 'a', 'b'), edge('ac', 'a', 'c'), edge('bd', 'b', 'd'), edge('ab2', 'a', 'b')];
    const plan = { levels: [['a'], ['b', 'c'], ['d']], critical_path: { a: 3, b: 2, c: 1, d: 1 } };
    const h = planHighlight(plan, edges);
    expect(h.criticalNodes).toEqual(['a', 'b', 'd']);
    expect([...h.criticalEdges].sort()).toEqual(['ab', 'ab2', 'bd']);
    expect(h.levelOf.get('c')).toBe(1);
    expect(h.levelCount).toBe(3);
  });

  it('ignores feedback connections and stops on a loop', () => {
    const edges = [edge('ab', 'a', 'b'), edge('ba', 'b', 'a', true)];
    const h = planHighlight({ levels: [['a'], ['b']], critical_path: { a: 2, b: 1 } }, edges);
    expect(h.criticalNodes).toEqual(['a', 'b']);
  });

  it('is empty for an empty plan', () => {
    expect(planHighlight({ levels: [], critical_path: {} }, []).criticalNodes).toEqual([]);
  });
});
