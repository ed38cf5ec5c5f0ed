import type { ReactNode } from 'react';
import styles from './Message.module.css';

/** A box for an outcome: errors are announced at once (role=alert), successes politely. */
export function Message({
  kind = 'error',
  children,
  testId,
}: {
  kind?: 'error' | 'success' | 'info';
  children: ReactNode;
  testId?: string;
}) {
  return (
    <div
      className={`${styles.message} ${styles[kind]}`}
      role={kind === 'error' ? 'alert' : 'status'}
      data-testid={testId ?? `message-${kind}`}
    >
      {children}
    </div>
  );
}
