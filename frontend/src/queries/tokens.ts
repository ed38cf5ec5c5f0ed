import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { apiJson, jsonBody } from '../api/client';

export interface ApiToken {
  id: number;
  name: string;
  hint: string;
  created: string;
  last_used: string | null;
}

export interface CreatedToken extends ApiToken {
  /** The secret, in this answer only. */
  token: string;
}

export const tokenKeys = { all: ['tokens'] as const };

export function useTokens() {
  return useQuery({
    queryKey: tokenKeys.all,
    queryFn: ({ signal }) => apiJson<ApiToken[]>('token', { signal }),
  });
}

export function useCreateToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => apiJson<CreatedToken>('token', { method: 'POST', ...jsonBody({ name }) }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokenKeys.all }),
  });
}

export function useRevokeToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => apiJson<void>(`token/${id}`, { method: 'DELETE' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokenKeys.all }),
  });
}
