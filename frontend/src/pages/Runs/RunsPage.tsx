import { Link, useParams, useSearchParams } from 'react-router';
import { errorMessage } from '../../api/client';
import { EmptyState } from '../../components/EmptyState/EmptyState';
import { formatDuration, secondsBetween, shortSha } from '../../components/format';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { PageHeader } from '../../components/PageHeader/PageHeader';
import { Pagination } from '../../components/Pagination/Pagination';
import { StateBadge } from '../../components/StateBadge';
import { Time } from '../../components/Time/Time';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { isLiveRun, useRuns, type RunListItem } from '../../queries/runs';
import { useWorkflowDetail } from '../../queries/workflows';
import styles from './RunsPage.module.css';

const PAGE_SIZE = 25;
/** Task counts in the order a run moves through them. */
const COUNT_ORDER = ['succeeded', 'failed', 'upstream_failed', 'cancelled', 'running', 'leased', 'queued', 'pending', 'reused'];

export function RunsPage() {
  const { workflowId = '' } = useParams();
  const [search, setSearch] = useSearchParams();
  const page = Math.max(1, Number(search.get('page')) || 1);
  const workflow = useWorkflowDetail(workflowId);
  const runs = useRuns(workflowId, page, PAGE_SIZE);
  useDocumentTitle(workflow.data ? `Runs of ${workflow.data.name}` : 'Runs');

  const hasEstimates = runs.data?.results.some((run) => run.estimated_start || run.estimated_finish) ?? false;

  return (
    <>
      <PageHeader
        title={workflow.data ? `Runs of ${workflow.data.name}` : 'Runs'}
        subtitle={
          <Link to={`/workflows/${workflowId}`}>← Back to the workflow</Link>
        }
        actions={
          <Link className="button primary" to={`/workflows/${workflowId}`}>
            Open the graph to run it
          </Link>
        }
      />
      {workflow.isError && <Message>{errorMessage(workflow.error)}</Message>}
      {runs.isPending && <Loading label="Loading runs" />}
      {runs.isError && <Message>Could not load the runs: {errorMessage(runs.error)}</Message>}
      {runs.data && runs.data.count === 0 && (
        <EmptyState title="No runs yet" testId="runs-empty">
          <p>
            Open <Link to={`/workflows/${workflowId}`}>the workflow</Link> and press Execute; each run then appears here
            with its state, who started it and how long it took.
          </p>
        </EmptyState>
      )}
      {runs.data && runs.data.results.length > 0 && (
        <>
          <table data-testid="runs-table" className={styles.table}>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">State</th>
                <th scope="col">Revision</th>
                <th scope="col">Started by</th>
                <th scope="col">Created</th>
                <th scope="col">Duration</th>
                {hasEstimates && <th scope="col">Estimated</th>}
                <th scope="col">Tasks</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.results.map((run) => (
                <RunRow key={run.id} run={run} workflowId={workflowId} showEstimates={hasEstimates} />
              ))}
            </tbody>
          </table>
          <Pagination
            page={page}
            pageSize={PAGE_SIZE}
            count={runs.data.count}
            onPage={(next) => setSearch(next === 1 ? {} : { page: String(next) })}
          />
        </>
      )}
    </>
  );
}

function RunRow({ run, workflowId, showEstimates }: { run: RunListItem; workflowId: string; showEstimates: boolean }) {
  const href = `/workflows/${workflowId}/runs/${run.id}`;
  const duration = run.duration_s ?? (isLiveRun(run.state) ? secondsBetween(run.started ?? run.created) : null);
  const counts = COUNT_ORDER.filter((state) => run.counts[state]).map((state) => [state, run.counts[state]] as const);
  return (
    <tr data-testid="run-row" data-run-id={run.id}>
      <td>
        <Link to={href} className={styles.runLink}>
          #{run.id}
        </Link>
      </td>
      <td>
        <StateBadge state={run.state} size="sm" />
      </td>
      <td>
        <code title={run.revision}>{shortSha(run.revision)}</code>
      </td>
      <td>{run.created_by ?? <span className="muted">—</span>}</td>
      <td>
        <Time iso={run.created} />
      </td>
      <td>
        {formatDuration(duration)}
        {isLiveRun(run.state) && duration !== null && <span className="muted"> so far</span>}
      </td>
      {showEstimates && (
        <td data-testid="run-estimates">
          {run.estimated_start && (
            <div>
              start <Time iso={run.estimated_start} />
            </div>
          )}
          {run.estimated_finish && (
            <div>
              finish <Time iso={run.estimated_finish} />
            </div>
          )}
        </td>
      )}
      <td>
        <ul className={styles.counts} aria-label="Tasks by state">
          {counts.map(([state, n]) => (
            <li key={state}>
              <StateBadge state={state} size="sm" label={`${n} ${state.replace('_', ' ')}`} />
            </li>
          ))}
        </ul>
      </td>
    </tr>
  );
}
