import { memo, useEffect, useMemo, useState } from 'react';
import { buildTimeline, timeTicks, type TimelineTask } from '../../lib/timeline';
import { stateStyle } from '../../lib/taskStates';
import { formatDuration } from '../format';
import styles from './RunView.module.css';

const LANE_LABEL = 150;
const ROW = 20;
const LANE_GAP = 10;
const AXIS = 22;

export interface TimelineProps {
  tasks: TimelineTask[];
  runStarted?: string | null;
  live: boolean;
  selectedId: string | null;
  onSelect: (node: string) => void;
  width?: number;
}

/** A plain SVG Gantt chart of a run's tasks in runner lanes (rows capped per lane, see lib/timeline). */
export const Timeline = memo(function Timeline({ tasks, runStarted, live, selectedId, onSelect, width = 1100 }: TimelineProps) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);
  const timeline = useMemo(() => buildTimeline(tasks, now, runStarted), [tasks, now, runStarted]);
  const plotWidth = Math.max(200, width - LANE_LABEL - 20);
  const x = (s: number) => LANE_LABEL + (s / timeline.span) * plotWidth;
  let y = AXIS;
  const laneTops = timeline.lanes.map((lane) => {
    const top = y;
    y += lane.rows * ROW + LANE_GAP;
    return top;
  });
  const height = Math.max(y, AXIS + ROW);
  const ticks = timeTicks(timeline.span);

  return (
    <div className={styles.timeline} data-testid="run-timeline">
      {timeline.lanes.length === 0 ? (
        <p className="muted">No task has started yet.</p>
      ) : (
        <svg width={LANE_LABEL + plotWidth + 20} height={height} role="img" aria-label={`Timeline of ${tasks.length.toString()} tasks in ${timeline.lanes.length.toString()} runner lanes`}>
          {ticks.map((t) => (
            <g key={t}>
              <line x1={x(t)} x2={x(t)} y1={AXIS - 4} y2={height} stroke="#e5e7eb" />
              <text x={x(t)} y={AXIS - 8} textAnchor="middle" fill="#4b5563">
                {formatDuration(t)}
              </text>
            </g>
          ))}
          {timeline.lanes.map((lane, i) => (
            <g key={lane.runner}>
              <rect x={0} y={laneTops[i] - 2} width={LANE_LABEL + plotWidth + 20} height={lane.rows * ROW + 4} fill={i % 2 ? '#f9fafb' : '#ffffff'} />
              <text x={6} y={laneTops[i] + ROW / 2 + 4} fill="#111827" fontWeight={600}>
                {lane.runner.length > 22 ? `${lane.runner.slice(0, 21)}…` : lane.runner}
              </text>
              {lane.bars.map((bar, j) => {
                const look = stateStyle(bar.state);
                const bx = x(bar.start);
                const bw = Math.max(6, x(bar.end) - bx); // wide enough to point at
                // A bar too short for its name gets it beside it, when the row is free that far.
                const next = lane.bars.slice(j + 1).find((b) => b.row === bar.row);
                const room = (next ? x(next.start) : LANE_LABEL + plotWidth + 20) - (bx + bw) - 6;
                const outside = bw <= 40 && room >= Math.min(bar.name.length, 24) * 6.5;
                const selected = bar.node === selectedId;
                return (
                  <g
                    key={bar.node}
                    className={styles.bar}
                    tabIndex={0}
                    role="button"
                    aria-label={`${bar.name}: ${look.word}, ${formatDuration(bar.end - bar.start)}`}
                    onClick={() => onSelect(bar.node)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter' || e.key === ' ') {
                        e.preventDefault();
                        onSelect(bar.node);
                      }
                    }}
                  >
                    <title>{`${bar.name} (${bar.node}): ${look.word}, ${formatDuration(bar.end - bar.start)}`}</title>
                    <rect
                      x={bx}
                      y={laneTops[i] + bar.row * ROW + 2}
                      width={bw}
                      height={ROW - 4}
                      rx={3}
                      fill={look.colour}
                      fillOpacity={bar.running ? 0.55 : 0.85}
                      stroke={selected ? '#111827' : 'none'}
                      strokeWidth={selected ? 2 : 0}
                    />
                    {outside && (
                      <text x={bx + bw + 4} y={laneTops[i] + bar.row * ROW + ROW / 2 + 4} fill="#1f2937">
                        {bar.name.length > 24 ? `${bar.name.slice(0, 23)}…` : bar.name}
                      </text>
                    )}
                    {bw > 40 && (
                      <text x={bx + 4} y={laneTops[i] + bar.row * ROW + ROW / 2 + 4} fill="#fff" style={{ pointerEvents: 'none' }}>
                        {bar.name.length * 6.5 > bw - 8 ? `${bar.name.slice(0, Math.max(1, Math.floor((bw - 14) / 6.5)))}…` : bar.name}
                      </text>
                    )}
                  </g>
                );
              })}
            </g>
          ))}
        </svg>
      )}
      {(timeline.notStarted > 0 || timeline.hidden > 0) && (
        <p className={styles.timelineNote}>
          {timeline.notStarted > 0 && `${timeline.notStarted.toString()} task(s) never started (pending, queued, upstream failed or cancelled). `}
          {timeline.hidden > 0 && `${timeline.hidden.toString()} task(s) not drawn: their runner ran more at once than the chart shows.`}
        </p>
      )}
    </div>
  );
});
