import type { ReactNode } from 'react';
import styles from './EmptyState.module.css';

/** What a page says when there is nothing yet, and what to do about it. */
export function EmptyState({ title, children, testId }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <section className={styles.empty} data-testid={testId ?? 'empty-state'}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}
