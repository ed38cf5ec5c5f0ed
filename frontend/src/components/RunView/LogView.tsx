import { useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api/client';
import { LogFollower } from '../../lib/logFollower';
import { logChunkFetcher } from '../../queries/logs';
import styles from './RunView.module.css';

/** Keep the browser responsive on huge logs: only the tail is drawn (the whole log downloads with the link). */
const MAX_SHOWN_CHARS = 200_000;

/**
 * A task's log, followed live by byte offset while the task runs and stopping by itself when the server
 * says the log is complete. `stateKey` changes (the task moved on) make it ask at once instead of waiting.
 */
export function LogView({ runId, node, stateKey }: { runId: number; node: string; stateKey: string }) {
  const [text, setText] = useState('');
  const [complete, setComplete] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const follower = useRef<LogFollower | null>(null);
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const f = new LogFollower(logChunkFetcher(runId, node), {
      onText: (t) => {
        setText(t);
        setError(null);
      },
      onComplete: () => setComplete(true),
      onError: (e) => setError(errorMessage(e)),
    });
    follower.current = f;
    f.start();
    return () => {
      f.stop();
      follower.current = null;
      setText('');
      setComplete(false);
      setError(null);
    };
  }, [runId, node]);

  useEffect(() => {
    follower.current?.poke();
  }, [stateKey]);

  // Follow the end like `tail -f`, unless the reader scrolled up to read.
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  const shown = text.length > MAX_SHOWN_CHARS ? `… (${(text.length - MAX_SHOWN_CHARS).toString()} earlier characters not shown)\n${text.slice(-MAX_SHOWN_CHARS)}` : text;
  return (
    <div className={styles.log}>
      <div className={styles.logStatus} aria-live="polite">
        {complete ? 'Complete log' : <span className={styles.live}>following live…</span>}
        {error && <span className={styles.errorText}> · {error}</span>}
      </div>
      <pre
        ref={box}
        className={styles.logText}
        tabIndex={0}
        aria-label={`Log of ${node}`}
        data-testid="node-log"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
        }}
      >
        {shown || (complete ? '(the log is empty)' : '(no output yet)')}
      </pre>
    </div>
  );
}
