import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { ApiError, apiJson } from '../api/client';
import { isFinalRunState } from '../lib/taskStates';

export interface WaitingInfo {
  reason: string;
  detail: string;
}

export interface NodeArtifact {
  id: string;
  name: string;
  sha256: string;
}

export interface NodeStatus {
  state: string;
  attempt: number;
  runner: string | null;
  started: string | null;
  finished: string | null;
  outputs: Record<string, unknown> | null;
  artifacts: NodeArtifact[];
  waiting: WaitingInfo | null;
  error: string | null;
  /** For `POST runners/cancel/<task_id>` (added for the web app; older servers lack it). */
  task_id?: number;
  name?: string;
  path?: string[];
}

export interface RunSummary {
  id: number;
  state: string;
  revision: string;
  created: string;
  started: string | null;
  finished: string | null;
  estimated_finish: string | null;
  created_by?: string | null;
}

export interface RunStatus {
  run: RunSummary;
  nodes: Record<string, NodeStatus>;
}

/** How often a live run is asked about: node colours must change within 2 s of the server knowing. */
export const LIVE_POLL_MS = 1000;

export function statusPath(workflowId: string | number, runId?: string | number | null): string {
  return `workflow/status/${String(workflowId)}${runId ? `?run=${String(runId)}` : ''}`;
}

/**
 * A run's status (the latest run when `runId` is absent), polled every second while the run is live and
 * not at all once it ended. `null` when the workflow has never run.
 */
export function useRunStatus(workflowId: string | undefined, runId?: string | null, enabled = true) {
  return useQuery({
    queryKey: ['status', workflowId, runId ?? 'latest'],
    enabled: !!workflowId && enabled,
    queryFn: async ({ signal }): Promise<RunStatus | null> => {
      try {
        return await apiJson<RunStatus>(statusPath(workflowId!, runId), { signal });
      } catch (error) {
        // "has no run yet" is a state of the workflow, not an error to show.
        if (error instanceof ApiError && error.status === 404 && !runId) return null;
        throw error;
      }
    },
    refetchInterval: (query) => {
      const data = query.state.data;
      // A refusal (404: no such run) will not change by asking again; a network blip or a 5xx might.
      if (query.state.status === 'error') {
        const error = query.state.error;
        return error instanceof ApiError && error.status >= 400 && error.status < 500 ? false : 5 * LIVE_POLL_MS;
      }
      return data && !isFinalRunState(data.run.state) ? LIVE_POLL_MS : false;
    },
    // Polling a live run keeps going in a background tab: people start a run and switch away.
    refetchIntervalInBackground: true,
    placeholderData: keepPreviousData,
    staleTime: 0,
  });
}
