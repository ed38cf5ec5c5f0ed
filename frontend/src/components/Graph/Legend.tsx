import { TASK_STATES } from '../../lib/taskStates';
import { StateBadge } from '../StateBadge/StateBadge';
import styles from './Graph.module.css';

/** The states with their icon, word and colour, plus what the edge and handle shapes mean. */
export function Legend({ states = TASK_STATES.filter((s) => s !== 'reused') }: { states?: readonly string[] }) {
  return (
    <ul className={styles.legend} aria-label="Legend">
      <li className={styles.legendTitle}>Legend</li>
      {states.map((state) => (
        <li key={state}>
          <StateBadge state={state} size="sm" />
        </li>
      ))}
      <li className={styles.legendLine}>
        <svg width="34" height="8" aria-hidden="true">
          <line x1="0" y1="4" x2="34" y2="4" stroke="#64748b" strokeWidth="2" strokeDasharray="6 4" />
        </svg>
        feedback connection
      </li>
      <li className={styles.legendLine}>
        <svg width="12" height="12" aria-hidden="true">
          <rect x="1" y="1" width="10" height="10" rx="2" fill="#fff" stroke="#475569" strokeWidth="2" />
        </svg>
        input taking several connections
      </li>
    </ul>
  );
}
