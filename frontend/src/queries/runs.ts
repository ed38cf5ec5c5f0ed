import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { apiJson } from '../api/client';

export interface RunListItem {
  id: number;
  state: string;
  revision: string;
  created_by: string | null;
  created: string;
  started: string | null;
  finished: string | null;
  duration_s: number | null;
  counts: Record<string, number>;
  /** Present once the estimates work lands; the page shows them only when given. */
  estimated_start?: string | null;
  estimated_finish?: string | null;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

const LIVE_RUN_STATES = new Set(['pending', 'queued', 'leased', 'running']);

export function isLiveRun(state: string): boolean {
  return LIVE_RUN_STATES.has(state);
}

export const runKeys = {
  all: ['runs'] as const,
  list: (workflowId: string, page: number, pageSize: number) =>
    [...runKeys.all, 'list', workflowId, page, pageSize] as const,
};

export function useRuns(workflowId: string, page: number, pageSize: number) {
  return useQuery({
    queryKey: runKeys.list(workflowId, page, pageSize),
    queryFn: ({ signal }) =>
      apiJson<Page<RunListItem>>(`workflow/runs/${workflowId}?page=${page}&page_size=${pageSize}`, { signal }),
    placeholderData: keepPreviousData,
    // Live runs change state and counts: follow them, and stop once every run shown has ended.
    refetchInterval: (query) => (query.state.data?.results.some((run) => isLiveRun(run.state)) ? 2_000 : false),
  });
}
