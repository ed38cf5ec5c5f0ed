/**
 * Task and run states → how they look: a colour family, an icon and a word, always together, because colour
 * alone fails about 1 in 12 men (red/green). Families follow Airflow's and GitLab's, which users already read.
 */

export const TASK_STATES = [
  'pending',
  'queued',
  'leased',
  'running',
  'succeeded',
  'failed',
  'upstream_failed',
  'cancelled',
  'reused',
] as const;

export type TaskState = (typeof TASK_STATES)[number];

export type StateIcon =
  | 'circle'
  | 'clock'
  | 'hand'
  | 'spinner'
  | 'check'
  | 'cross'
  | 'brokenLink'
  | 'slash'
  | 'recycle'
  | 'unknown';

export interface StateStyle {
  /** Colour family, also used as a CSS class suffix. */
  family: 'lightgrey' | 'grey' | 'lightblue' | 'blue' | 'green' | 'red' | 'orange' | 'purple' | 'hatched-green' | 'neutral';
  /** The strong colour: borders, icons, timeline bars. */
  colour: string;
  /** A light tint for backgrounds behind dark text. */
  tint: string;
  /** Text colour readable on `tint` (contrast ≥ 4.5:1). */
  text: string;
  icon: StateIcon;
  /** The short word, without context ("running"). */
  word: string;
  /** Animated (the running spinner). */
  animated: boolean;
  /** Hatched fill (reused results). */
  hatched: boolean;
}

const STYLES: Record<TaskState, StateStyle> = {
  pending: style('lightgrey', '#9ca3af', '#f3f4f6', '#374151', 'circle', 'pending'),
  queued: style('grey', '#6b7280', '#e5e7eb', '#1f2937', 'clock', 'queued'),
  leased: style('lightblue', '#38bdf8', '#e0f2fe', '#075985', 'hand', 'leased'),
  running: { ...style('blue', '#2563eb', '#dbeafe', '#1e3a8a', 'spinner', 'running'), animated: true },
  succeeded: style('green', '#16a34a', '#dcfce7', '#14532d', 'check', 'succeeded'),
  failed: style('red', '#dc2626', '#fee2e2', '#7f1d1d', 'cross', 'failed'),
  upstream_failed: style('orange', '#ea580c', '#ffedd5', '#7c2d12', 'brokenLink', 'upstream failed'),
  cancelled: style('purple', '#7e22ce', '#f3e8ff', '#581c87', 'slash', 'cancelled'),
  reused: { ...style('hatched-green', '#16a34a', '#dcfce7', '#14532d', 'recycle', 'reused'), hatched: true },
};

const UNKNOWN: StateStyle = style('neutral', '#9ca3af', '#f9fafb', '#374151', 'unknown', 'unknown');

function style(
  family: StateStyle['family'],
  colour: string,
  tint: string,
  text: string,
  icon: StateIcon,
  word: string,
): StateStyle {
  return { family, colour, tint, text, icon, word, animated: false, hatched: false };
}

export function isTaskState(value: unknown): value is TaskState {
  return typeof value === 'string' && (TASK_STATES as readonly string[]).includes(value);
}

/** The look of a task or run state; an unknown state (a newer server) gets a neutral look and its own name. */
export function stateStyle(state: string | null | undefined): StateStyle {
  if (isTaskState(state)) return STYLES[state];
  return { ...UNKNOWN, word: state ? state.replace(/_/g, ' ') : 'no run' };
}

export const FINAL_TASK_STATES: readonly string[] = ['succeeded', 'failed', 'cancelled', 'upstream_failed', 'reused'];
export const FINAL_RUN_STATES: readonly string[] = ['succeeded', 'failed', 'cancelled'];

export function isFinalTaskState(state: string | null | undefined): boolean {
  return !!state && FINAL_TASK_STATES.includes(state);
}

/** A run is live until the server says it ended; an unknown state counts as live so polling goes on. */
export function isFinalRunState(state: string | null | undefined): boolean {
  return !!state && FINAL_RUN_STATES.includes(state);
}

export interface StateContext {
  runner?: string | null;
  /** Seconds: elapsed for running tasks, duration for succeeded ones. */
  seconds?: number | null;
  attempt?: number | null;
  maxAttempts?: number | null;
  reusedFromRun?: number | null;
}

/** Seconds as people read them: "0.8 s", "12 s", "3 min 4 s", "2 h 5 min". */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 10) return `${(Math.round(seconds * 10) / 10).toString()} s`;
  if (seconds < 60) return `${Math.round(seconds).toString()} s`;
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = Math.round(seconds - m * 60);
    return s ? `${m.toString()} min ${s.toString()} s` : `${m.toString()} min`;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds - h * 3600) / 60);
  return m ? `${h.toString()} h ${m.toString()} min` : `${h.toString()} h`;
}

/** The word shown beside the icon, with what is known: "picked up by gpu-1", "succeeded in 0.8 s". */
export function stateWord(state: string | null | undefined, context: StateContext = {}): string {
  const { runner, seconds, attempt, maxAttempts, reusedFromRun } = context;
  const hasSeconds = typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0;
  switch (state) {
    case 'pending':
      return 'waiting for upstream';
    case 'queued':
      return 'queued';
    case 'leased':
      return runner ? `picked up by ${runner}` : 'picked up';
    case 'running':
      return hasSeconds ? `running for ${formatSeconds(seconds)}` : 'running';
    case 'succeeded':
      return hasSeconds ? `succeeded in ${formatSeconds(seconds)}` : 'succeeded';
    case 'failed':
      if (attempt && maxAttempts && maxAttempts > 1) return `failed (attempt ${attempt.toString()} of ${maxAttempts.toString()})`;
      if (attempt && attempt > 1) return `failed (attempt ${attempt.toString()})`;
      return 'failed';
    case 'reused':
      return reusedFromRun ? `reused from run ${reusedFromRun.toString()}` : 'reused';
    default:
      return stateStyle(state).word;
  }
}
