import { describe, expect, it, vi } from 'vitest';
import { chunkFromResponse, LogFollower, type LogChunk } from './logFollower';

const enc = new TextEncoder();

/** A server log that grows; answers the bytes after `offset`. */
function fakeServer(initial = '') {
  let log = enc.encode(initial);
  let complete = false;
  const asked: number[] = [];
  return {
    asked,
    append(text: string) {
      const more = enc.encode(text);
      const next = new Uint8Array(log.length + more.length);
      next.set(log);
      next.set(more, log.length);
      log = next;
    },
    finish() {
      complete = true;
    },
    fetch: (offset: number): Promise<LogChunk> => {
      asked.push(offset);
      return Promise.resolve({ bytes: log.slice(offset), nextOffset: log.length, complete });
    },
  };
}

/** Manual timers: the test decides when the next poll happens. */
function manualTimers() {
  const queue: (() => void)[] = [];
  return {
    setTimer: (fn: () => void) => {
      queue.push(fn);
      return queue.length;
    },
    clearTimer: () => {
      queue.length = 0;
    },
    async next() {
      const fn = queue.shift();
      fn?.();
      await new Promise((r) => setTimeout(r, 0));
    },
    get pending() {
      return queue.length;
    },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe('LogFollower', () => {
  it('appends only new bytes, asks from the right offset and stops when complete', async () => {
    const server = fakeServer('line 1\n');
    const timers = manualTimers();
    const onText = vi.fn();
    const onComplete = vi.fn();
    const follower = new LogFollower(server.fetch, { onText, onComplete, ...timers });
    follower.start();
    await flush();
    expect(follower.currentText).toBe('line 1\n');
    await timers.next(); // nothing new: no callback
    expect(onText).toHaveBeenCalledTimes(1);
    server.append('line 2\n');
    await timers.next();
    expect(follower.currentText).toBe('line 1\nline 2\n');
    server.append('end\n');
    server.finish();
    await timers.next();
    expect(follower.currentText).toBe('line 1\nline 2\nend\n');
    expect(server.asked).toEqual([0, 7, 7, 14]);
    expect(onComplete).toHaveBeenCalledOnce();
    expect(follower.complete).toBe(true);
    expect(timers.pending).toBe(0);
  });

  it('decodes a UTF-8 character split across two chunks', async () => {
    const bytes = enc.encode('température 20 °C\n');
    const cut = bytes.indexOf(0xc3) + 1; // inside "é"
    const answers: LogChunk[] = [
      { bytes: bytes.slice(0, cut), nextOffset: cut, complete: false },
      { bytes: bytes.slice(cut), nextOffset: bytes.length, complete: true },
    ];
    const timers = manualTimers();
    const follower = new LogFollower(() => Promise.resolve(answers.shift()!), { onText: () => {}, ...timers });
    follower.start();
    await flush();
    await timers.next();
    expect(follower.currentText).toBe('température 20 °C\n');
  });

  it('drops an answer that goes backwards or overlaps, so no text is shown twice', async () => {
    const timers = manualTimers();
    const answers: LogChunk[] = [
      { bytes: enc.encode('abc'), nextOffset: 3, complete: false },
      { bytes: enc.encode('x'), nextOffset: 1, complete: false }, // a confused answer
      { bytes: enc.encode('defEXTRA'), nextOffset: 6, complete: true }, // more bytes than the offsets say
    ];
    const follower = new LogFollower(() => Promise.resolve(answers.shift()!), { onText: () => {}, ...timers });
    follower.start();
    await flush();
    await timers.next();
    await timers.next();
    expect(follower.currentText).toBe('abcdef');
  });

  it('keeps one request in flight: poke() during a fetch does not start another', async () => {
    let resolve!: (c: LogChunk) => void;
    const fetch = vi.fn(() => new Promise<LogChunk>((r) => (resolve = r)));
    const follower = new LogFollower(fetch, { onText: () => {}, ...manualTimers() });
    follower.start();
    follower.poke();
    follower.poke();
    expect(fetch).toHaveBeenCalledTimes(1);
    resolve({ bytes: enc.encode('a'), nextOffset: 1, complete: false });
    await flush();
    expect(follower.currentText).toBe('a');
  });

  it('ignores an answer that arrives after stop()', async () => {
    let resolve!: (c: LogChunk) => void;
    const onText = vi.fn();
    const follower = new LogFollower(() => new Promise<LogChunk>((r) => (resolve = r)), { onText, ...manualTimers() });
    follower.start();
    follower.stop();
    resolve({ bytes: enc.encode('late'), nextOffset: 4, complete: false });
    await flush();
    expect(onText).not.toHaveBeenCalled();
  });

  it('replaces the text when the server answers without offsets', async () => {
    const timers = manualTimers();
    const answers: LogChunk[] = [
      { bytes: enc.encode('one\n'), nextOffset: null, complete: false },
      { bytes: enc.encode('one\ntwo\n'), nextOffset: null, complete: true },
    ];
    const follower = new LogFollower(() => Promise.resolve(answers.shift()!), { onText: () => {}, ...timers });
    follower.start();
    await flush();
    await timers.next();
    expect(follower.currentText).toBe('one\ntwo\n');
    expect(follower.complete).toBe(true);
  });

  it('backs off after an error and carries on from the same offset', async () => {
    const timers = manualTimers();
    const onError = vi.fn();
    const calls: number[] = [];
    let fail = true;
    const follower = new LogFollower(
      (offset) => {
        calls.push(offset);
        if (fail) {
          fail = false;
          return Promise.reject(new Error('503'));
        }
        return Promise.resolve({ bytes: enc.encode('ok'), nextOffset: 2, complete: true });
      },
      { onText: () => {}, onError, ...timers },
    );
    follower.start();
    await flush();
    expect(onError).toHaveBeenCalledOnce();
    await timers.next();
    expect(calls).toEqual([0, 0]);
    expect(follower.currentText).toBe('ok');
  });
});

describe('chunkFromResponse', () => {
  it('reads the agreed headers', async () => {
    const response = new Response('hello', { headers: { 'X-Log-Next-Offset': '15', 'X-Log-Complete': '1' } });
    const chunk = await chunkFromResponse(response);
    expect(new TextDecoder().decode(chunk.bytes)).toBe('hello');
    expect(chunk.nextOffset).toBe(15);
    expect(chunk.complete).toBe(true);
  });

  it('marks a server without offsets', async () => {
    const chunk = await chunkFromResponse(new Response('all'));
    expect(chunk.nextOffset).toBeNull();
    expect(chunk.complete).toBe(false);
  });
});
