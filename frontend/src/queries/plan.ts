import { useQuery } from '@tanstack/react-query';
import { apiJson } from '../api/client';

export interface Plan {
  workflow: number;
  revision: string;
  order: string[];
  levels: string[][];
  /** Per node: the longest remaining path from it (its priority). */
  critical_path: Record<string, number>;
}

export function usePlan(workflowId: string | undefined, revision: string | null | undefined, enabled: boolean) {
  return useQuery({
    queryKey: ['plan', workflowId, revision ?? 'latest'],
    enabled: !!workflowId && enabled,
    queryFn: ({ signal }) =>
      apiJson<Plan>(`workflow/plan/${workflowId!}${revision ? `?revision=${encodeURIComponent(revision)}` : ''}`, { signal }),
    staleTime: Infinity, // a revision's plan never changes
  });
}
