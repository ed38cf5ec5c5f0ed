import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { apiJson } from '../api/client';

export interface RunnerTask {
  task_id: number;
  node: string;
  run: number;
  state: string;
  /** Present once the estimates work lands. */
  estimated_finish?: string | null;
  workflow?: number;
}

export interface Runner {
  id: number;
  name: string;
  owner: string;
  tags: string[];
  executors: string[];
  status: 'online' | 'offline' | 'paused' | 'draining';
  paused: boolean;
  shutdown_requested: boolean;
  current_tasks: RunnerTask[];
  last_contact: string | null;
  version: string;
  hostname: string;
  shared_with_all: boolean;
  token_hint: string;
  created: string;
}

export const runnerKeys = { all: ['runners'] as const };

export function useRunners() {
  return useQuery({
    queryKey: runnerKeys.all,
    queryFn: ({ signal }) => apiJson<Runner[]>('runners/status', { signal }),
    refetchInterval: 5_000,
  });
}

export function useShutdownRunner() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => apiJson<Runner>(`runners/shutdown/${id}`, { method: 'POST' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: runnerKeys.all }),
  });
}
