import { Link } from 'react-router';
import { StateBadge } from '../../components/StateBadge/StateBadge';
import { Time } from '../../components/Time/Time';
import { formatDuration, secondsBetween, shortSha } from '../../components/format';
import type { RunStatus } from '../../queries/status';
import styles from './WorkflowPage.module.css';

/** "run 12 ▸ running · 3 of 5 done · started 10 s ago": the run the graph shows, announced when it changes. */
export function RunSummaryLine({ workflowId, status, linkToRun = true }: { workflowId: string; status: RunStatus; linkToRun?: boolean }) {
  const nodes = Object.values(status.nodes);
  const done = nodes.filter((n) => ['succeeded', 'failed', 'cancelled', 'upstream_failed'].includes(n.state)).length;
  const failed = nodes.filter((n) => n.state === 'failed').length;
  const { run } = status;
  return (
    <div className={styles.runLine} aria-live="polite" data-testid="run-summary" data-run-state={run.state}>
      {linkToRun ? (
        <Link to={`/workflows/${workflowId}/runs/${run.id.toString()}`}>Run {run.id}</Link>
      ) : (
        <strong>Run {run.id}</strong>
      )}
      <StateBadge state={run.state} />
      <span>
        {done} of {nodes.length} tasks finished{failed ? `, ${failed.toString()} failed` : ''}
      </span>
      <span className="muted">
        revision <span className="mono">{shortSha(run.revision)}</span>
        {run.created_by ? ` · by ${run.created_by}` : ''} · started <Time iso={run.started ?? run.created} />
        {run.started ? ` · ${formatDuration(secondsBetween(run.started, run.finished))}` : ''}
      </span>
    </div>
  );
}
