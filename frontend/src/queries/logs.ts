import { apiFetch } from '../api/client';
import { chunkFromResponse, type FetchLogChunk } from '../lib/logFollower';

export function logPath(runId: number | string, node: string, offset: number): string {
  return `runs/${String(runId)}/logs/${encodeURIComponent(node)}?offset=${offset.toString()}`;
}

/** The fetch the LogFollower uses for one task's log. */
export function logChunkFetcher(runId: number | string, node: string): FetchLogChunk {
  return async (offset, signal) => {
    const response = await apiFetch(logPath(runId, node, offset), { signal, headers: { Accept: 'text/plain' } });
    return chunkFromResponse(response);
  };
}
