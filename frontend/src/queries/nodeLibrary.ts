import { useQuery } from '@tanstack/react-query';
import { apiFetch, ApiError } from '../api/client';
import { BUILTIN_NODES, parseLibrary, type LibraryNode } from '../lib/nodeLibrary';

export interface NodeLibrary {
  nodes: LibraryNode[];
  /** `runners`: the union the user's online runners reported; `builtin`: the fallback list (no runner online, or an older server). */
  source: 'runners' | 'builtin';
}

/**
 * The palette's node types: `GET nodes/library` (the union of the node libraries of the runners serving the
 * user: `{source, runners, nodes: [{path, name, doc, terminals: [{name, dtype, in, out, multiinput}], online}]}`;
 * `source: "builtin"` when none of them is online, with the built-in groups added), or the front end's own
 * copy of the built-in groups when the endpoint is missing (an older server: 404) or lists nothing.
 */
export function useNodeLibrary() {
  return useQuery({
    queryKey: ['nodeLibrary'],
    queryFn: async ({ signal }): Promise<NodeLibrary> => {
      try {
        const response = await apiFetch('nodes/library', { signal });
        const body: unknown = await response.json();
        const nodes = parseLibrary(body);
        const said = typeof body === 'object' && body !== null && 'source' in body ? (body as { source: unknown }).source : 'runners';
        if (nodes) return { nodes, source: said === 'builtin' ? 'builtin' : 'runners' };
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
