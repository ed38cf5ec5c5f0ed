import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransientRefreshError, createTokenManager, jwtExpiry } from './tokenManager';

/** An unsigned JWT whose payload expires `inS` seconds after the (fake) now. */
function jwt(inS: number, extra: Record<string, unknown> = {}): string {
  const exp = Math.floor(Date.now() / 1000) + inS;
  const encode = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ exp, user_id: 1, ...extra })}.signature`;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('jwtExpiry', () => {
  it('reads exp from a base64url payload', () => {
    expect(jwtExpiry(jwt(900))).toBe(Math.floor(Date.now() / 1000) + 900);
  });

  it('reads payloads that need padding and url-safe characters', () => {
    // "~~~" encodes to characters that differ between base64 and base64url.
    const token = jwt(10, { name: '~~~?>' });
    expect(jwtExpiry(token)).toBe(Math.floor(Date.now() / 1000) + 10);
  });

  it('is null for garbage', () => {
    expect(jwtExpiry('not-a-jwt')).toBeNull();
    expect(jwtExpiry('a.!!!.c')).toBeNull();
    expect(jwtExpiry(`a.${btoa('{"sub":1}')}.c`)).toBeNull();
  });
});

describe('createTokenManager', () => {
  it('renews 60 s before expiry, not earlier', async () => {
    const refresh = vi.fn(async () => jwt(900));
    const manager = createTokenManager({ refresh });
    manager.set(jwt(900));

    await vi.advanceTimersByTimeAsync((900 - 60) * 1000 - 1);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    manager.dispose();
  });

  it('keeps renewing: the renewed token schedules the next renewal', async () => {
    const refresh = vi.fn(async () => jwt(300));
    const manager = createTokenManager({ refresh });
    manager.set(jwt(300));
    await vi.advanceTimersByTimeAsync(240_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(240_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    manager.dispose();
  });

  it('a token living no longer than the leeway renews at half its life, not in a tight loop', async () => {
    const refresh = vi.fn(async () => jwt(60));
    const manager = createTokenManager({ refresh });
    manager.set(jwt(60));
    await vi.advanceTimersByTimeAsync(29_999);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    // Each renewed 60 s token waits another 30 s: two more in the next minute, not hundreds.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(refresh).toHaveBeenCalledTimes(3);
    manager.dispose();
  });

  it('an expired token is renewed at once', async () => {
    const refresh = vi.fn(async () => jwt(900));
    const manager = createTokenManager({ refresh });
    manager.set(jwt(-5));
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh).toHaveBeenCalledTimes(1);
    manager.dispose();
  });

  it('shares one in-flight refresh between concurrent callers', async () => {
    const pending = deferred<string>();
    const refresh = vi.fn(() => pending.promise);
    const manager = createTokenManager({ refresh });

    const calls = [manager.refresh(), manager.refresh(), manager.fresh(), manager.refresh()];
    expect(refresh).toHaveBeenCalledTimes(1);
    const token = jwt(900);
    pending.resolve(token);
    expect(await Promise.all(calls)).toEqual([token, token, token, token]);
    expect(manager.get()).toBe(token);

    // Once settled, the next refresh is a new request.
    void manager.refresh();
    expect(refresh).toHaveBeenCalledTimes(2);
    manager.dispose();
  });

  it('fresh() renews a token about to expire before handing it out', async () => {
    const next = jwt(900);
    const refresh = vi.fn(async () => next);
    const manager = createTokenManager({ refresh, leewayS: 0 });
    manager.set(jwt(3));
    expect(await manager.fresh()).toBe(next);
    expect(refresh).toHaveBeenCalledTimes(1);
    manager.dispose();
  });

  it('fresh() is null when logged out and does not call the server', async () => {
    const refresh = vi.fn(async () => jwt(900));
    const manager = createTokenManager({ refresh });
    expect(await manager.fresh()).toBeNull();
    expect(refresh).not.toHaveBeenCalled();
  });

  it('a refused refresh logs out and tells the listener', async () => {
    const onChange = vi.fn();
    const refresh = vi.fn(async () => {
      throw new Error('401 token is blacklisted');
    });
    const manager = createTokenManager({ refresh, onChange });
    manager.set(jwt(900));
    expect(await manager.refresh()).toBeNull();
    expect(manager.get()).toBeNull();
    expect(onChange).toHaveBeenLastCalledWith(null);
    // No timer left behind for a logged-out session.
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('a transient failure keeps a still-valid session and retries shortly', async () => {
    const token = jwt(900);
    const renewed = jwt(900);
    const refresh = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new TransientRefreshError())
      .mockResolvedValueOnce(renewed);
    const manager = createTokenManager({ refresh, retryS: 10 });
    manager.set(token);

    expect(await manager.refresh()).toBe(token);
    expect(manager.get()).toBe(token);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(manager.get()).toBe(renewed);
    manager.dispose();
  });

  it('a transient failure with no usable token is a logout', async () => {
    const refresh = vi.fn(async () => {
      throw new TransientRefreshError();
    });
    const manager = createTokenManager({ refresh });
    expect(await manager.refresh()).toBeNull();
    expect(manager.get()).toBeNull();
  });

  it('set(null) cancels the pending renewal', async () => {
    const refresh = vi.fn(async () => jwt(900));
    const manager = createTokenManager({ refresh });
    manager.set(jwt(900));
    manager.set(null);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(refresh).not.toHaveBeenCalled();
  });
});
