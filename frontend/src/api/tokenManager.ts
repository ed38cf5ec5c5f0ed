/**
 * The access JWT lives here, in memory only (never localStorage: a script injected into the page must not be
 * able to read a long-lived credential). It is renewed quietly `leewayS` before it expires, and concurrent
 * callers that need a renewal share one in-flight request, because the server rotates the refresh cookie on
 * every use: two parallel refreshes would race and the loser would present an already-blacklisted token.
 */

/** Thrown by a refresh function when the failure says nothing about the session (network down, 5xx). */
export class TransientRefreshError extends Error {
  constructor(message = 'the server could not be reached') {
    super(message);
    this.name = 'TransientRefreshError';
  }
}

export interface TokenManagerOptions {
  /** Asks the server for a new access token; rejects with TransientRefreshError when worth retrying. */
  refresh: () => Promise<string>;
  /** Called whenever the token changes; `null` means logged out. */
  onChange?: (access: string | null) => void;
  /** Renew this many seconds before expiry (at most half the token's remaining life). */
  leewayS?: number;
  /** After a transient failure, try again this many seconds later (while the token still works). */
  retryS?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface TokenManager {
  /** The current access token, or null when logged out. */
  get(): string | null;
  /** Adopts a token (after login) or drops it (`null`, after logout), and schedules the next renewal. */
  set(access: string | null): void;
  /** Renews now; concurrent calls share one request. Resolves to the new token, or null when logged out. */
  refresh(): Promise<string | null>;
  /** A token that is valid for at least a few more seconds, renewing first when needed; null when logged out. */
  fresh(): Promise<string | null>;
  /** Stops the renewal timer (tests, teardown). */
  dispose(): void;
}

/** The `exp` claim (seconds since the epoch) of a JWT, or null when the token cannot be read. */
export function jwtExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const payload: unknown = JSON.parse(atob(padded));
    if (payload && typeof payload === 'object' && 'exp' in payload && typeof payload.exp === 'number') {
      return payload.exp;
    }
  } catch {
    // A malformed token is treated as one without an expiry: it is used until the server refuses it.
  }
  return null;
}

/** Tokens this close to expiry are renewed before use rather than sent and refused. */
const MIN_REMAINING_MS = 5_000;

export function createTokenManager(options: TokenManagerOptions): TokenManager {
  const leewayMs = (options.leewayS ?? 60) * 1000;
  const retryMs = (options.retryS ?? 10) * 1000;
  const now = options.now ?? (() => Date.now());
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));

  let access: string | null = null;
  let expiresAtMs: number | null = null;
  let timer: unknown = null;
  let inFlight: Promise<string | null> | null = null;

  function cancelTimer() {
    if (timer !== null) {
      clearTimer(timer);
      timer = null;
    }
  }

  function schedule(delayMs: number) {
    cancelTimer();
    timer = setTimer(() => {
      timer = null;
      void refresh();
    }, Math.max(0, delayMs));
  }

  function set(token: string | null) {
    cancelTimer();
    access = token;
    const exp = token ? jwtExpiry(token) : null;
    expiresAtMs = exp === null ? null : exp * 1000;
    if (token && expiresAtMs !== null) {
      // At most half the remaining life early: a token that lives no longer than the leeway (a short
      // JWT_ACCESS_MINUTES) must not be renewed in a tight loop.
      const remainingMs = expiresAtMs - now();
      schedule(Math.max(remainingMs - leewayMs, remainingMs / 2));
    }
    options.onChange?.(token);
  }

  function refresh(): Promise<string | null> {
    if (inFlight) return inFlight;
    inFlight = options
      .refresh()
      .then(
        (token) => {
          set(token);
          return token;
        },
        (error: unknown) => {
          const stillValid = access !== null && (expiresAtMs === null || expiresAtMs - now() > MIN_REMAINING_MS);
          if (error instanceof TransientRefreshError && stillValid) {
            // Keep the session through a blip (server restart, network hiccup); try again shortly.
            schedule(Math.min(retryMs, (expiresAtMs ?? Infinity) - now() - MIN_REMAINING_MS));
            return access;
          }
          set(null);
          return null;
        },
      )
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  }

  async function fresh(): Promise<string | null> {
    if (inFlight) return inFlight;
    if (access === null) return null;
    if (expiresAtMs !== null && expiresAtMs - now() <= MIN_REMAINING_MS) return refresh();
    return access;
  }

  return {
    get: () => access,
    set,
    refresh,
    fresh,
    dispose: cancelTimer,
  };
}
