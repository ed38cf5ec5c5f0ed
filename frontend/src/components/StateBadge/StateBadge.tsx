import { memo } from 'react';
import { stateStyle, stateWord, type StateContext } from '../../lib/taskStates';
import { StateIcon } from './StateIcon';
import styles from './StateBadge.module.css';

export interface StateBadgeProps {
  /** A task or run state ("running", "upstream_failed", …); null/undefined shows "no run". */
  state: string | null | undefined;
  /** Extra facts for the word ("picked up by gpu-1", "succeeded in 0.8 s"). */
  context?: StateContext;
  /** Replaces the word entirely. */
  label?: string;
  /** A tooltip (for example the reason a task waits). */
  title?: string;
  size?: 'sm' | 'md';
  className?: string;
}

/** Icon + word + colour for a state: the three together, so the state reads without colour vision. */
export const StateBadge = memo(function StateBadge({
  state,
  context,
  label,
  title,
  size = 'md',
  className,
}: StateBadgeProps) {
  const look = stateStyle(state);
  const word = label ?? stateWord(state, context);
  return (
    <span
      className={[styles.badge, size === 'sm' ? styles.sm : '', look.hatched ? styles.hatched : '', className ?? '']
        .filter(Boolean)
        .join(' ')}
      style={{ color: look.text, background: look.tint, borderColor: look.colour }}
      title={title}
      data-state={state ?? 'none'}
    >
      <span className={styles.icon} style={{ color: look.colour }}>
        <StateIcon icon={look.icon} animated={look.animated} size={size === 'sm' ? 12 : 14} />
      </span>
      <span className={styles.word}>{word}</span>
    </span>
  );
});
