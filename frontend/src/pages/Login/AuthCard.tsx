import type { ReactNode } from 'react';
import styles from './AuthCard.module.css';

/** The centred card the login and sign-up forms sit in. */
export function AuthCard({ title, children, footer }: { title: string; children: ReactNode; footer: ReactNode }) {
  return (
    <main className={styles.page}>
      <div className={styles.card}>
        <div className={styles.brand} aria-hidden="true">
          <svg viewBox="0 0 16 16" width="22" height="22">
            <path d="M4 8 L12 4 M4 8 L12 12" stroke="#93c5fd" strokeWidth="1.5" />
            <circle cx="4" cy="8" r="2.6" fill="#2563eb" />
            <circle cx="12" cy="4" r="2.6" fill="#16a34a" />
            <circle cx="12" cy="12" r="2.6" fill="#f59e0b" />
          </svg>
          Nodeworks
        </div>
        <h1>{title}</h1>
        {children}
        <p className={styles.alt}>{footer}</p>
      </div>
    </main>
  );
}

export { styles as authCardStyles };
