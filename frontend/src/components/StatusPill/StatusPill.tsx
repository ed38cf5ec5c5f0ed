import styles from './StatusPill.module.css';

const LOOKS: Record<string, { icon: string; word: string }> = {
  online: { icon: '●', word: 'online' },
  offline: { icon: '○', word: 'offline' },
  draining: { icon: '◐', word: 'draining' },
  paused: { icon: '❚❚', word: 'paused' },
};

/** A runner's status: a shape and a word as well as a colour, like the task states. */
export function StatusPill({ status, title }: { status: string; title?: string }) {
  const look = LOOKS[status] ?? { icon: '?', word: status };
  return (
    <span className={`${styles.pill} ${styles[status] ?? ''}`} title={title} data-status={status}>
      <span aria-hidden="true" className={styles.icon}>
        {look.icon}
      </span>
      {look.word}
    </span>
  );
}
