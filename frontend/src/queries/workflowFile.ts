import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { apiFetch, apiJson, jsonBody } from '../api/client';

export interface WorkflowFile {
  nc: unknown;
  /** The full sha the server answered (X-Nodeworks-Revision). */
  revision: string | null;
}

/** The `.nc` object of a revision (latest when absent), or with `run` the run's sheet with its values filled in. */
export function useWorkflowFile(workflowId: string | undefined, options: { revision?: string | null; run?: string | null } = {}) {
  const { revision, run } = options;
  return useQuery({
    queryKey: ['workflowFile', workflowId, revision ?? null, run ?? null],
    enabled: !!workflowId,
    queryFn: async ({ signal }): Promise<WorkflowFile> => {
      const params = new URLSearchParams();
      if (revision) params.set('revision', revision);
      if (run) params.set('run', run);
      const query = params.toString();
      const response = await apiFetch(`workflow/get/${workflowId!}${query ? `?${query}` : ''}`, { signal });
      return { nc: await response.json(), revision: response.headers.get('X-Nodeworks-Revision') };
    },
    // A revision never changes; "latest" may, after a publish.
    staleTime: revision || run ? Infinity : 10_000,
  });
}

export interface WorkflowDetail {
  id: number;
  name: string;
  revision: string;
  requirements: unknown;
  [key: string]: unknown;
}

export function useWorkflowDetail(workflowId: string | undefined) {
  return useQuery({
    queryKey: ['workflowDetail', workflowId],
    enabled: !!workflowId,
    queryFn: ({ signal }) => apiJson<WorkflowDetail>(`workflow/detail/${workflowId!}`, { signal }),
  });
}

export interface Revision {
  revision: string;
  message: string;
  author: string;
  email: string;
  time: string;
}

export function useHistory(workflowId: string | undefined, enabled = true) {
  return useQuery({
    queryKey: ['history', workflowId],
    enabled: !!workflowId && enabled,
    queryFn: ({ signal }) => apiJson<Revision[]>(`workflow/history/${workflowId!}?limit=200`, { signal }),
  });
}

export interface ExecuteBody {
  revision?: string;
  inputs: Record<string, unknown>;
}

export interface ExecuteAnswer {
  run: { id: number; state: string; revision: string; created: string };
}

export function useExecute(workflowId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: ExecuteBody) =>
      apiJson<ExecuteAnswer>(`workflow/execute/${workflowId}`, { method: 'POST', ...jsonBody(body) }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['status', workflowId] });
      void client.invalidateQueries({ queryKey: ['runs', workflowId] });
      void client.invalidateQueries({ queryKey: ['workflows'] });
    },
  });
}

export function useCancelRun(workflowId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (run: number) =>
      apiJson<{ cancelled: number[] }>(`workflow/cancel/${workflowId}`, { method: 'POST', ...jsonBody({ run }) }),
    onSettled: () => client.invalidateQueries({ queryKey: ['status', workflowId] }),
  });
}

export function useCancelTask(workflowId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (taskId: number) => apiJson<unknown>(`runners/cancel/${String(taskId)}`, { method: 'POST', ...jsonBody({}) }),
    onSettled: () => client.invalidateQueries({ queryKey: ['status', workflowId] }),
  });
}

export interface PublishBody {
  workflow: unknown;
  message: string;
  /** The revision the edit started from: the server answers 409 when it is not the latest any more. */
  base_revision?: string;
  /** Only for a new workflow. */
  name?: string;
}

export interface PublishAnswer {
  id: number;
  name: string;
  revision: string;
}

/** Publish a new revision of `workflowId`, or (null) a new workflow. */
export function usePublish(workflowId: string | null) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: PublishBody) =>
      apiJson<PublishAnswer>(workflowId ? `workflow/publish/${workflowId}` : 'workflow/publish', { method: 'POST', ...jsonBody(body) }),
    onSuccess: (answer) => {
      const id = String(answer.id);
      void client.invalidateQueries({ queryKey: ['history', id] });
      void client.invalidateQueries({ queryKey: ['workflowFile', id, null, null] });
      void client.invalidateQueries({ queryKey: ['workflowDetail', id] });
      void client.invalidateQueries({ queryKey: ['workflows'] });
    },
  });
}

/** Saves a revision's `.nc` exactly as the server stores it (the bytes of `get`) under `<name>-<sha7>.nc`. */
export async function downloadRevision(workflowId: string, revision: string | null, name: string): Promise<void> {
  const response = await apiFetch(`workflow/get/${workflowId}${revision ? `?revision=${encodeURIComponent(revision)}` : ''}`);
  const sha = response.headers.get('X-Nodeworks-Revision') ?? revision ?? '';
  const blob = await response.blob();
  saveBlob(blob, `${safeFileName(name)}${sha ? `-${sha.slice(0, 7)}` : ''}.nc`);
}

export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'workflow';
}

export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
