/**
 * A run's tasks as a Gantt chart in runner lanes: one lane per runner (tasks that never reached one share a
 * "not started" lane), bars from started to finished (or now while running). Pure: the SVG only draws it.
 */

export interface TimelineTask {
  node: string;
  name: string;
  state: string;
  runner: string | null;
  started: string | null;
  finished: string | null;
}

export interface TimelineBar {
  node: string;
  name: string;
  state: string;
  /** Seconds from the timeline's start. */
  start: number;
  end: number;
  /** Row inside its lane: bars of a runner that overlap in time (parallel slots) stack. */
  row: number;
  running: boolean;
}

export interface TimelineLane {
  runner: string;
  rows: number;
  bars: TimelineBar[];
}

export interface Timeline {
  /** Epoch ms of second zero. */
  origin: number;
  /** Seconds the timeline spans (at least 1). */
  span: number;
  lanes: TimelineLane[];
  /** Tasks without a start (pending, queued, upstream failed, …): counted, not drawn. */
  notStarted: number;
  /** Bars left out because a lane had too many rows to draw. */
  hidden: number;
}

export const MAX_ROWS_PER_LANE = 40;

export function buildTimeline(tasks: TimelineTask[], nowMs: number, runStart?: string | null): Timeline {
  const started = tasks.filter((t) => t.started);
  const startTimes = started.map((t) => Date.parse(t.started!));
  const origin = runStart ? Math.min(Date.parse(runStart), ...startTimes) : startTimes.length ? Math.min(...startTimes) : nowMs;
  const byRunner = new Map<string, TimelineBar[]>();
  let end = origin;
  for (const task of started) {
    const s = Date.parse(task.started!);
    const f = task.finished ? Date.parse(task.finished) : nowMs;
    end = Math.max(end, f);
    const bar: TimelineBar = {
      node: task.node,
      name: task.name,
      state: task.state,
      start: (s - origin) / 1000,
      end: Math.max((f - origin) / 1000, (s - origin) / 1000),
      row: 0,
      running: !task.finished,
    };
    const runner = task.runner ?? '(unknown runner)';
    const list = byRunner.get(runner);
    if (list) list.push(bar);
    else byRunner.set(runner, [bar]);
  }
  let hidden = 0;
  const lanes: TimelineLane[] = [];
  for (const [runner, bars] of [...byRunner].sort(([a], [b]) => a.localeCompare(b))) {
    bars.sort((a, b) => a.start - b.start || a.end - b.end);
    // Greedy interval colouring: a bar takes the first row free at its start.
    const rowEnds: number[] = [];
    const kept: TimelineBar[] = [];
    for (const bar of bars) {
      let row = rowEnds.findIndex((e) => e <= bar.start);
      if (row === -1) {
        row = rowEnds.length;
        rowEnds.push(bar.end);
      } else rowEnds[row] = bar.end;
      if (row >= MAX_ROWS_PER_LANE) {
        hidden += 1;
        continue;
      }
      bar.row = row;
      kept.push(bar);
    }
    lanes.push({ runner, rows: Math.min(Math.max(rowEnds.length, 1), MAX_ROWS_PER_LANE), bars: kept });
  }
  return {
    origin,
    span: Math.max((end - origin) / 1000, 1),
    lanes,
    notStarted: tasks.length - started.length,
    hidden,
  };
}

/** Tick marks at a readable step (1, 2, 5 × 10^n seconds) for a span. */
export function timeTicks(span: number, maxTicks = 8): number[] {
  const raw = span / maxTicks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? power * 10;
  const ticks: number[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) ticks.push(Number(t.toPrecision(10)));
  return ticks;
}
