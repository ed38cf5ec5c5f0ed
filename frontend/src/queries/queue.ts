import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { apiJson } from '../api/client';

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
