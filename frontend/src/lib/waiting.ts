/** "Why is it waiting?" in plain words: a sentence per reason, the server's detail beneath, and what to do. */

export interface WaitingExplanation {
  headline: string;
  detail: string;
  /** What the user can do about it, when there is something. */
  hint?: string;
}

const HEADLINES: Record<string, { headline: string; hint?: string }> = {
  parents: { headline: 'It waits for the nodes it depends on to succeed.' },
  retry_backoff: { headline: 'It failed and will be tried again after a short pause.' },
  no_runner: {
    headline: 'No runner can take it: none of your runners has the tags or executor it needs.',
    hint: 'Register a runner with those tags and executor, or change the node’s requirements.',
  },
  runners_offline: {
    headline: 'The runners that could take it are offline.',
    hint: 'Start one of them again (nodeworks-runner run) or register another.',
  },
  runners_paused: {
    headline: 'The runners that could take it are paused or draining.',
    hint: 'Resume a runner in the admin, or start another.',
  },
  runners_busy: { headline: 'The runners that could take it are busy with other tasks; it is next in line by priority.' },
};

export function explainWaiting(waiting: { reason: string; detail: string } | null | undefined): WaitingExplanation | null {
  if (!waiting) return null;
  const known = HEADLINES[waiting.reason];
  return {
    headline: known?.headline ?? `It is waiting (${waiting.reason.replace(/_/g, ' ')}).`,
    detail: waiting.detail,
    ...(known?.hint ? { hint: known.hint } : {}),
  };
}
