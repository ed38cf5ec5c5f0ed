import { useQuery } from '@tanstack/react-query';
import { apiFetch, ApiError } from '../api/client';
import { BUILTIN_NODES, parseLibrary, type LibraryNode } from '../lib/nodeLibrary';

export interface NodeLibrary {
  nodes: LibraryNode[];
  /** `runners`: the union the user's online runners reported; `builtin`: the fallback list (no runner online, or an older server). */
  source: 'runners' | 'builtin';
}

/**
 * The palette's node types: `GET nodes/library` (the union of the node libraries of the user's online
 * runners), or the runner package's built-in groups when the endpoint is missing (404) or reports no node.
 */
export function useNodeLibrary() {
  return useQuery({
    queryKey: ['nodeLibrary'],
    queryFn: async ({ signal }): Promise<NodeLibrary> => {
      try {
        const response = await apiFetch('nodes/library', { signal });
        const nodes = parseLibrary(await response.json());
        if (nodes) return { nodes, source: 'runners' };
      } catch (error) {
        if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 405)) throw error;
      }
      return { nodes: BUILTIN_NODES, source: 'builtin' };
    },
    // Runners come and go; a minute is fresh enough for a palette.
    staleTime: 60_000,
    refetchInterval: 60_000,
  });
}
