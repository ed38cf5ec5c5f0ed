import styles from './Loading.module.css';

/** A quiet spinner with words, so screen readers and the impatient both know something is happening. */
export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <div className={styles.loading} role="status" aria-live="polite">
      <span className={styles.spinner} aria-hidden="true" />
      <span>{label}…</span>
    </div>
  );
}
