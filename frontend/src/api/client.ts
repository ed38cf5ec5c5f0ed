/**
 * The one way the app talks to the API: adds the in-memory access token, renews it quietly, retries once
 * after a 401 (the token may have expired between the check and the request), and turns every non-2xx answer
 * into an ApiError with a readable message.
 */
import { ApiError, apiErrorFrom } from './errors';
import { TransientRefreshError, createTokenManager } from './tokenManager';

export { ApiError, errorMessage } from './errors';

export const API_BASE = '/api/v1/';

/** Tells the server this is the browser app: it then keeps the refresh token in the httpOnly cookie. */
export const WEB_CLIENT_HEADER = { 'X-Nodeworks-Client': 'web' } as const;

type AccessListener = (access: string | null) => void;
const listeners = new Set<AccessListener>();

export function apiUrl(path: string): string {
  if (path.startsWith('/')) return path;
  return API_BASE + path;
}

/** Tabs share the cookie: after another tab's rotation, wait this long and try once more before giving up. */
export const ROTATION_RETRY_MS = 400;

async function postRefresh(): Promise<Response> {
  try {
    return await fetch(apiUrl('token/refresh'), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { ...WEB_CLIENT_HEADER, 'Content-Type': 'application/json' },
      body: '{}',
    });
  } catch {
    throw new TransientRefreshError();
  }
}

async function refreshWithCookie(): Promise<string> {
  let response = await postRefresh();
  if (response.status === 401) {
    // Two tabs refreshing at once: one rotates the token, the other presented the old one and is refused,
    // but by now the browser holds the rotated cookie. One more try tells that apart from a real logout.
    await new Promise((resolve) => setTimeout(resolve, ROTATION_RETRY_MS));
    response = await postRefresh();
  }
  if (response.status >= 500 || response.status === 429) throw new TransientRefreshError();
  if (!response.ok) throw await apiErrorFrom(response);
  const body = (await response.json()) as { access?: string };
  if (!body.access) throw new Error('the refresh answer had no access token');
  return body.access;
}

export const tokens = createTokenManager({
  refresh: refreshWithCookie,
  onChange: (access) => listeners.forEach((listener) => listener(access)),
});

/** Subscribes to session changes (login, renewal, logout); returns the unsubscribe function. */
export function onAccessChange(listener: AccessListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function withDefaults(init: RequestInit | undefined, access: string | null): RequestInit {
  const headers = new Headers(init?.headers);
  if (access && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${access}`);
  if (typeof init?.body === 'string' && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  return { ...init, headers, credentials: 'same-origin' };
}

/**
 * Fetches `path` (relative to /api/v1/) with the session's token. Resolves only for 2xx answers;
 * otherwise throws ApiError (status 0 when the server could not be reached).
 */
export async function apiFetch(path: string, init?: RequestInit): Promise<Response> {
  const access = await tokens.fresh();
  let response: Response;
  try {
    response = await fetch(apiUrl(path), withDefaults(init, access));
    if (response.status === 401 && access !== null) {
      const renewed = await tokens.refresh();
      if (renewed) response = await fetch(apiUrl(path), withDefaults(init, renewed));
    }
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The server could not be reached. Check your connection and try again.', null);
  }
  if (!response.ok) throw await apiErrorFrom(response);
  return response;
}

/** apiFetch + JSON: `undefined` for 204 / empty bodies. */
export async function apiJson<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await apiFetch(path, init);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A JSON request body, for `apiJson(path, {method: 'POST', ...jsonBody({...})})`. */
export function jsonBody(value: unknown): Pick<RequestInit, 'body' | 'headers'> {
  return { body: JSON.stringify(value), headers: { 'Content-Type': 'application/json' } };
}
