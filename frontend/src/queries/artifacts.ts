import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { apiFetch, apiJson } from '../api/client';

export interface Provenance {
  id: string;
  name: string;
  sha256: string;
  size: number;
  content_type: string;
  created: string;
  task_id: number;
  node: string;
  path: string[];
  attempt: number;
  run_id: number;
  workflow_id: number;
  revision: string;
  runner: string | null;
  runner_id: number | null;
}

export function useProvenance(artifactId: string | null) {
  return useQuery({
    queryKey: ['provenance', artifactId],
    enabled: !!artifactId,
    queryFn: ({ signal }) => apiJson<Provenance>(`artifacts/${artifactId!}/provenance`, { signal }),
    staleTime: Infinity,
  });
}

/** An artifact's bytes, fetched with the session's token (an <img src> could not send it). */
export async function fetchArtifactBlob(artifactId: string, signal?: AbortSignal): Promise<Blob> {
  const response = await apiFetch(`artifacts/${artifactId}`, { signal, headers: { Accept: '*/*' } });
  return response.blob();
}

/** An object URL for an artifact's bytes, revoked when the component lets go of it. */
export function useArtifactObjectUrl(artifactId: string | null): { url: string | null; error: unknown } {
  const [state, setState] = useState<{ id: string | null; url: string | null; error: unknown }>({ id: null, url: null, error: null });
  useEffect(() => {
    if (!artifactId) return;
    const controller = new AbortController();
    let url: string | null = null;
    fetchArtifactBlob(artifactId, controller.signal).then(
      (blob) => {
        url = URL.createObjectURL(blob);
        setState({ id: artifactId, url, error: null });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ id: artifactId, url: null, error });
      },
    );
    return () => {
      controller.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [artifactId]);
  return state.id === artifactId ? { url: state.url, error: state.error } : { url: null, error: null };
}

/** Downloads an artifact under its name (a blob link, since the download needs the Authorization header). */
export async function downloadArtifact(artifactId: string, name: string): Promise<void> {
  const url = URL.createObjectURL(await fetchArtifactBlob(artifactId));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
