import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, apiFetch, apiJson } from '../api/client';

export interface QueueGroup {
  tags: string[];
  executor: string;
  queued: number;
  leased: number;
  running: number;
  oldest_queued: string | null;
  /** Present once the estimates work lands. */
  estimated_start?: string | null;
}

export interface QueueStatus {
  groups: QueueGroup[];
  totals: { queued: number; leased: number; running: number };
}

export const queueKeys = { all: ['queue'] as const };

export function useQueue() {
  return useQuery({
    queryKey: queueKeys.all,
    queryFn: ({ signal }) => apiJson<QueueStatus>('queue/status', { signal }),
    refetchInterval: 3_000,
  });
}

export function useClearQueue() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => apiJson<{ cleared: number }>('queue/clear', { method: 'POST' }),
    onSuccess: () => queryClient.invalidateQueries(),
  });
}

export function useCancelAll() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => apiJson<{ cancelled: number[]; cleared: number }>('admin/cancel_all', { method: 'POST' }),
    onSuccess: () => queryClient.invalidateQueries(),
  });
}

/**
 * Whether the user may use the administrators' actions. OPTIONS runs the endpoint's permission check and
 * nothing else (200 for admins, 403 for others), so the page asks the server instead of guessing.
 */
export function useIsAdmin() {
  return useQuery({
    queryKey: ['permissions', 'admin'],
    queryFn: async () => {
      try {
        await apiFetch('admin/cancel_all', { method: 'OPTIONS' });
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.status === 403) return false;
        throw error;
      }
    },
    staleTime: 5 * 60_000,
  });
}
