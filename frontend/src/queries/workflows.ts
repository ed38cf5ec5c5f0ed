import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { apiJson } from '../api/client';

export interface RevisionSummary {
  sha: string;
  message: string;
  author: string;
  time: string;
}

export interface LastRunSummary {
  id: number;
  state: string;
  created: string;
  finished: string | null;
  /** Present once the estimates work lands; shown only when given. */
  estimated_finish?: string | null;
}

export interface WorkflowListItem {
  id: number;
  name: string;
  revision: string;
  node_count: number;
  owner: string;
  created: string;
  updated: string;
  /** Added for the web app; an older server leaves them out. */
  latest_revision?: RevisionSummary | null;
  last_run?: LastRunSummary | null;
}

export interface Published {
  id: number;
  name: string;
  revision: string;
}

export const workflowKeys = {
  all: ['workflows'] as const,
  list: () => [...workflowKeys.all, 'list'] as const,
  detail: (id: number | string) => [...workflowKeys.all, 'detail', String(id)] as const,
};

export function useWorkflows() {
  return useQuery({
    queryKey: workflowKeys.list(),
    queryFn: ({ signal }) => apiJson<WorkflowListItem[]>('workflow/', { signal }),
    // A run started elsewhere (curl, another tab) shows up without a reload.
    refetchInterval: 15_000,
  });
}

export interface UploadInput {
  file: File;
  name: string;
  message: string;
}

export function useUploadWorkflow() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ file, name, message }: UploadInput) => {
      const form = new FormData();
      form.append('file', file, file.name);
      if (name.trim()) form.append('name', name.trim());
      if (message.trim()) form.append('message', message.trim());
      return apiJson<Published>('workflow/publish', { method: 'POST', body: form });
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: workflowKeys.all }),
  });
}

export function useDeleteWorkflow() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => apiJson<void>(`workflow/delete/${id}`, { method: 'DELETE' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: workflowKeys.all }),
  });
}

export interface WorkflowDetail {
  id: number;
  name: string;
  revision: string;
  node_count: number;
  owner: string;
}

/** Name and revision of one workflow (the runs page's heading). */
export function useWorkflowDetail(id: number | string | undefined) {
  return useQuery({
    queryKey: workflowKeys.detail(id ?? ''),
    queryFn: ({ signal }) => apiJson<WorkflowDetail>(`workflow/detail/${id}`, { signal }),
    enabled: id !== undefined,
  });
}
