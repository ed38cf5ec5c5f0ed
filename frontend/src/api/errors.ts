/** A non-2xx answer from the API, with the message people should read and the field errors forms show. */
export class ApiError extends Error {
  readonly status: number;
  /** The parsed JSON body (or the text, when the body is not JSON). */
  readonly body: unknown;
  /** Seconds to wait before retrying, from a 429's `Retry-After`. */
  readonly retryAfterS?: number;

  constructor(status: number, message: string, body: unknown, retryAfterS?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    this.retryAfterS = retryAfterS;
  }

  /** Field → messages, from the server's `{"detail": ..., "errors": {field: [..]}}` (or a bare DRF body). */
  get fieldErrors(): Record<string, string[]> {
    const body = this.body;
    if (!body || typeof body !== 'object') return {};
    const tree = 'errors' in body && body.errors && typeof body.errors === 'object' ? body.errors : body;
    const out: Record<string, string[]> = {};
    for (const [field, value] of Object.entries(tree as Record<string, unknown>)) {
      if (field === 'detail') continue;
      const messages = (Array.isArray(value) ? value : [value]).filter((m): m is string => typeof m === 'string');
      if (messages.length) out[field] = messages;
    }
    return out;
  }
}

/** Parses Retry-After: a number of seconds, or an HTTP date. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}

function messageFor(status: number, body: unknown): string {
  if (body && typeof body === 'object' && 'detail' in body && typeof body.detail === 'string' && body.detail) {
    return body.detail;
  }
  if (typeof body === 'string' && body.trim() && !body.trimStart().startsWith('<')) return body.trim().slice(0, 300);
  if (status === 0) return 'The server could not be reached. Check your connection and try again.';
  if (status >= 500) return `The server had a problem (HTTP ${status}). Try again in a moment.`;
  if (status === 404) return 'Not found.';
  if (status === 403) return 'You are not allowed to do that.';
  if (status === 401) return 'Your session has ended. Please log in again.';
  return `The request failed (HTTP ${status}).`;
}

/** Builds an ApiError from a failed response (reads the body once). */
export async function apiErrorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's HTML error page, say): keep the text for the message.
  }
  const retryAfterS = parseRetryAfter(response.headers.get('Retry-After'));
  let message = messageFor(response.status, body);
  if (response.status === 429 && retryAfterS !== undefined) {
    message = `Too many attempts. Try again in ${formatWait(retryAfterS)}.`;
  }
  return new ApiError(response.status, message, body, retryAfterS);
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** A message for any thrown value: API errors keep theirs, others get a generic line. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return 'The server could not be reached. Check your connection and try again.';
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}
