import { describe, expect, it } from 'vitest';
import { buildTimeline, MAX_ROWS_PER_LANE, timeTicks, type TimelineTask } from './timeline';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();

function task(node: string, runner: string | null, start: number | null, end: number | null, state = 'succeeded'): TimelineTask {
  return { node, name: node, state, runner, started: start === null ? null : at(start), finished: end === null ? null : at(end) };
}

describe('buildTimeline', () => {
  it('puts tasks in runner lanes, stacking overlapping ones, from the first start', () => {
    const tl = buildTimeline(
      [task('a', 'r1', 0, 2), task('b', 'r1', 1, 3), task('c', 'r1', 2, 4), task('d', 'r2', 5, 6), task('e', null, null, null, 'pending')],
      t0 + 10_000,
    );
    expect(tl.lanes.map((l) => [l.runner, l.rows])).toEqual([
      ['r1', 2],
      ['r2', 1],
    ]);
    expect(tl.lanes[0].bars.map((b) => [b.node, b.row, b.start, b.end])).toEqual([
      ['a', 0, 0, 2],
      ['b', 1, 1, 3],
      ['c', 0, 2, 4],
    ]);
    expect(tl.span).toBe(6);
    expect(tl.notStarted).toBe(1);
  });

  it('draws a running task up to now', () => {
    const tl = buildTimeline([task('a', 'r1', 0, null, 'running')], t0 + 7_000);
    expect(tl.lanes[0].bars[0]).toMatchObject({ end: 7, running: true });
  });

  it('caps rows per lane and counts what it left out', () => {
    const tasks = Array.from({ length: MAX_ROWS_PER_LANE + 5 }, (_, i) => task(`n${i.toString()}`, 'r', 0, 10));
    const tl = buildTimeline(tasks, t0);
    expect(tl.lanes[0].rows).toBe(MAX_ROWS_PER_LANE);
    expect(tl.hidden).toBe(5);
  });

  it('is empty but sane before anything started', () => {
    const tl = buildTimeline([task('a', null, null, null, 'queued')], t0);
    expect(tl.lanes).toEqual([]);
    expect(tl.span).toBe(1);
  });
});

describe('timeTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten', () => {
    expect(timeTicks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(timeTicks(0.8)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    expect(timeTicks(3600).length).toBeLessThanOrEqual(9);
  });
});
