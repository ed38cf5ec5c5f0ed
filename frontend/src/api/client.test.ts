import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiFetch, apiJson, tokens } from './client';

function jwt(inS: number): string {
  const payload = btoa(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + inS })).replace(/=+$/, '');
  return `e30.${payload}.sig`;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

const fetchMock = vi.fn<typeof fetch>();

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
  fetchMock.mockReset();
});

afterEach(() => {
  tokens.set(null);
  vi.unstubAllGlobals();
});

function authHeader(call: number): string | null {
  const init = fetchMock.mock.calls[call][1];
  return new Headers(init?.headers).get('Authorization');
}

describe('apiFetch', () => {
  it('sends the access token to /api/v1/<path>', async () => {
    const token = jwt(900);
    tokens.set(token);
    fetchMock.mockResolvedValueOnce(json(200, [{ id: 1 }]));
    expect(await apiJson('workflow/')).toEqual([{ id: 1 }]);
    expect(fetchMock.mock.calls[0][0]).toBe('/api/v1/workflow/');
    expect(authHeader(0)).toBe(`Bearer ${token}`);
  });

  it('on a 401, refreshes once through the cookie and retries with the new token', async () => {
    const old = jwt(900);
    const renewed = jwt(900) + 'x';
    tokens.set(old);
    fetchMock
      .mockResolvedValueOnce(json(401, { detail: 'Given token not valid' }))
      .mockResolvedValueOnce(json(200, { access: renewed }))
      .mockResolvedValueOnce(json(200, { ok: true }));
    expect(await apiJson('workflow/')).toEqual({ ok: true });
    expect(fetchMock.mock.calls[1][0]).toBe('/api/v1/token/refresh');
    const refreshHeaders = new Headers(fetchMock.mock.calls[1][1]?.headers);
    expect(refreshHeaders.get('X-Nodeworks-Client')).toBe('web');
    expect(fetchMock.mock.calls[1][1]?.credentials).toBe('same-origin');
    expect(authHeader(2)).toBe(`Bearer ${renewed}`);
    expect(tokens.get()).toBe(renewed);
  });

  it('a 401 whose refresh is refused (twice: not a rotation race) ends the session and throws the 401', async () => {
    tokens.set(jwt(900));
    fetchMock
      .mockResolvedValueOnce(json(401, { detail: 'Given token not valid' }))
      .mockResolvedValueOnce(json(401, { detail: 'Token is blacklisted' }))
      .mockResolvedValueOnce(json(401, { detail: 'Token is blacklisted' }));
    const error = await apiJson('workflow/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(tokens.get()).toBeNull();
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  it('a refresh refused because another tab just rotated the cookie succeeds on the second try', async () => {
    const renewed = jwt(900) + 'z';
    fetchMock
      .mockResolvedValueOnce(json(401, { detail: 'Token is blacklisted' }))
      .mockResolvedValueOnce(json(200, { access: renewed }));
    expect(await tokens.refresh()).toBe(renewed);
    expect(fetchMock.mock.calls.map(([url]) => url)).toEqual(['/api/v1/token/refresh', '/api/v1/token/refresh']);
  });

  it('retries a 401 only once', async () => {
    tokens.set(jwt(900));
    fetchMock
      .mockResolvedValueOnce(json(401, { detail: 'no' }))
      .mockResolvedValueOnce(json(200, { access: jwt(900) }))
      .mockResolvedValueOnce(json(401, { detail: 'still no' }));
    await expect(apiFetch('workflow/')).rejects.toMatchObject({ status: 401, message: 'still no' });
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  it('concurrent 401s share one refresh', async () => {
    tokens.set(jwt(900));
    const renewed = jwt(900) + 'y';
    fetchMock.mockImplementation(async (input, init) => {
      const url = String(input);
      if (url.endsWith('token/refresh')) return json(200, { access: renewed });
      const auth = new Headers(init?.headers).get('Authorization');
      return auth === `Bearer ${renewed}` ? json(200, { url }) : json(401, { detail: 'expired' });
    });
    await Promise.all([apiJson('a'), apiJson('b'), apiJson('c')]);
    const refreshes = fetchMock.mock.calls.filter(([url]) => String(url).endsWith('token/refresh'));
    expect(refreshes).toHaveLength(1);
  });

  it('turns field errors and 429s into readable ApiErrors', async () => {
    fetchMock.mockResolvedValueOnce(
      json(400, { detail: 'username: A user with that username already exists.', errors: { username: ['A user with that username already exists.'] } }),
    );
    const error = (await apiFetch('register', { method: 'POST', body: '{}' }).catch((e: unknown) => e)) as ApiError;
    expect(error.message).toBe('username: A user with that username already exists.');
    expect(error.fieldErrors).toEqual({ username: ['A user with that username already exists.'] });

    fetchMock.mockResolvedValueOnce(json(429, { detail: 'Request was throttled.' }, { 'Retry-After': '42' }));
    const throttled = (await apiFetch('login').catch((e: unknown) => e)) as ApiError;
    expect(throttled.retryAfterS).toBe(42);
    expect(throttled.message).toBe('Too many attempts. Try again in 42 seconds.');
  });

  it('a network failure is an ApiError with status 0', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    await expect(apiFetch('workflow/')).rejects.toMatchObject({ status: 0 });
  });
});
