/**
 * Follows a task's log by byte offset: each fetch asks for the bytes after what it already has
 * (`?offset=`), the answer's `X-Log-Next-Offset` says where to continue and `X-Log-Complete` that the task is
 * final and no more will come. One request at a time and offsets checked, so text is never shown twice,
 * however slow or out of order the answers. Bytes are decoded with a streaming decoder: a UTF-8 character
 * cut across two chunks still comes out whole.
 */

export interface LogChunk {
  /** Bytes from the requested offset. */
  bytes: Uint8Array;
  /** Where the next request starts; null when the server does not follow offsets (then `bytes` is the whole log). */
  nextOffset: number | null;
  complete: boolean;
}

export type FetchLogChunk = (offset: number, signal: AbortSignal) => Promise<LogChunk>;

export interface LogFollowerOptions {
  /** Called with the whole text so far whenever it grows. */
  onText: (text: string) => void;
  onComplete?: () => void;
  onError?: (error: unknown) => void;
  /** Delay between fetches while the log is live. */
  intervalMs?: number;
  /** Delay after a failed fetch (doubles up to 30 s). */
  errorBackoffMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class LogFollower {
  private offset = 0;
  private text = '';
  private decoder = new TextDecoder('utf-8');
  private timer: unknown = null;
  private controller: AbortController | null = null;
  private stopped = true;
  private done = false;
  private failures = 0;
  private readonly fetchChunk: FetchLogChunk;
  private readonly options: LogFollowerOptions;

  constructor(fetchChunk: FetchLogChunk, options: LogFollowerOptions) {
    this.fetchChunk = fetchChunk;
    this.options = options;
  }

  get currentText(): string {
    return this.text;
  }

  get currentOffset(): number {
    return this.offset;
  }

  get complete(): boolean {
    return this.done;
  }

  start(): void {
    if (!this.stopped || this.done) return;
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.options.clearTimer ?? clearTimeout)(this.timer as ReturnType<typeof setTimeout>);
    this.timer = null;
    this.controller?.abort();
    this.controller = null;
  }

  /** Fetch now (after the log view opens, or a task changes state) instead of waiting for the timer. */
  poke(): void {
    if (this.stopped || this.done || this.controller) return;
    if (this.timer !== null) (this.options.clearTimer ?? clearTimeout)(this.timer as ReturnType<typeof setTimeout>);
    this.timer = null;
    void this.tick();
  }

  private schedule(ms: number): void {
    if (this.stopped || this.done) return;
    const set = this.options.setTimer ?? ((fn: () => void, delay: number) => setTimeout(fn, delay));
    this.timer = set(() => {
      this.timer = null;
      void this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.done || this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    const asked = this.offset;
    let chunk: LogChunk;
    try {
      chunk = await this.fetchChunk(asked, controller.signal);
    } catch (error) {
      if (this.controller === controller) this.controller = null;
      if (controller.signal.aborted || this.stopped) return;
      this.failures += 1;
      this.options.onError?.(error);
      const base = this.options.errorBackoffMs ?? 2000;
      this.schedule(Math.min(base * 2 ** (this.failures - 1), 30000));
      return;
    }
    if (this.controller !== controller || controller.signal.aborted) return;
    this.controller = null;
    this.failures = 0;
    this.apply(asked, chunk);
    if (chunk.complete) {
      this.done = true;
      this.options.onComplete?.();
      return;
    }
    this.schedule(this.options.intervalMs ?? 1000);
  }

  private apply(asked: number, chunk: LogChunk): void {
    if (asked !== this.offset) return; // an answer to a question no longer asked
    if (chunk.nextOffset === null) {
      // A server that ignores offsets answers the whole log each time: replace, never append.
      const whole = new TextDecoder('utf-8').decode(chunk.bytes);
      if (whole !== this.text) {
        this.text = whole;
        this.options.onText(this.text);
      }
      return;
    }
    if (chunk.nextOffset < asked) return; // never go backwards (and never re-append)
    let bytes = chunk.bytes;
    const expected = chunk.nextOffset - asked;
    if (bytes.length > expected) bytes = bytes.subarray(0, expected);
    this.offset = chunk.nextOffset;
    const piece = this.decoder.decode(bytes, { stream: !chunk.complete });
    if (piece) {
      this.text += piece;
      this.options.onText(this.text);
    }
  }
}

/** The log chunk from a fetch Response (headers as WEB_SHARED.md agreed). */
export async function chunkFromResponse(response: Response): Promise<LogChunk> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const next = response.headers.get('X-Log-Next-Offset');
  const parsed = next === null ? NaN : Number.parseInt(next, 10);
  const complete = ['1', 'true', 'yes'].includes((response.headers.get('X-Log-Complete') ?? '').toLowerCase());
  return { bytes, nextOffset: Number.isFinite(parsed) ? parsed : null, complete };
}
