import type { Json } from '../../lib/ncGraph';
import { diffSummary, type ConnectionRef, type NcDiff } from '../../lib/ncDiff';
import { summarizeValue } from '../../lib/valueSummary';
import styles from './DiffList.module.css';

function value(v: Json | undefined): string {
  return v === undefined ? '(none)' : summarizeValue(v).text;
}

function conn(c: ConnectionRef): string {
  return `${c.source}.${c.sourceHandle} → ${c.target}.${c.targetHandle}${c.feedback ? ' (feedback)' : ''}`;
}

/** The diff in words: every added, removed, moved and changed object, and each changed value before → after. */
export function DiffList({ diff, names }: { diff: NcDiff; names?: { before: string; after: string } }) {
  return (
    <section className={styles.list} aria-label="Changes" data-testid="diff-list">
      <p className={styles.summary} data-testid="diff-summary">
        {names && (
          <>
            <span className="mono">{names.before}</span> → <span className="mono">{names.after}</span>:{' '}
          </>
        )}
        {diffSummary(diff)}
      </p>
      <ul>
        {diff.added.map((n) => (
          <li key={`a${n.id}`} className={styles.added}>
            <b>added</b> node {n.name} <span className="mono">({n.id})</span>
          </li>
        ))}
        {diff.removed.map((n) => (
          <li key={`r${n.id}`} className={styles.removed}>
            <b>removed</b> node {n.name} <span className="mono">({n.id})</span>
          </li>
        ))}
        {diff.connectionsAdded.map((c) => (
          <li key={`ca${c.id}`} className={styles.added}>
            <b>added</b> connection {conn(c)}
          </li>
        ))}
        {diff.connectionsRemoved.map((c) => (
          <li key={`cr${c.id}`} className={styles.removed}>
            <b>removed</b> connection {conn(c)}
          </li>
        ))}
        {diff.connectionsChanged.map((c) => (
          <li key={`cc${c.id}`} className={styles.changed}>
            <b>changed</b> connection {conn(c)}: {c.keys.map((k) => `${k.key} ${value(k.before)} → ${value(k.after)}`).join('; ')}
          </li>
        ))}
        {diff.changed.map((n) => (
          <li key={`c${n.id}`} className={styles.changed}>
            <b>changed</b> node {n.name} <span className="mono">({n.id})</span>
            <table className={styles.values}>
              <tbody>
                {n.values.map((v) => (
                  <tr key={`v${v.terminal}`} data-terminal={v.terminal}>
                    <th scope="row">
                      {v.terminal} <span className="muted">({v.side})</span>
                    </th>
                    <td className={styles.before}>{value(v.before)}</td>
                    <td aria-hidden="true">→</td>
                    <td className={styles.after}>{value(v.after)}</td>
                  </tr>
                ))}
                {n.keys.map((k) => (
                  <tr key={`k${k.key}`}>
                    <th scope="row">{k.key}</th>
                    <td className={styles.before}>{value(k.before)}</td>
                    <td aria-hidden="true">→</td>
                    <td className={styles.after}>{value(k.after)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </li>
        ))}
        {diff.moved.map((n) => (
          <li key={`m${n.id}`} className={styles.moved}>
            <b>moved</b> node {n.name} <span className="mono">({n.id})</span>
            {n.from && n.to && (
              <span className="muted">
                {' '}
                from ({n.from.join(', ')}) to ({n.to.join(', ')})
              </span>
            )}
          </li>
        ))}
        {diff.othersChanged.map((key) => (
          <li key={`o${key}`} className={styles.changed}>
            <b>changed</b> top-level entry <span className="mono">{key}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
