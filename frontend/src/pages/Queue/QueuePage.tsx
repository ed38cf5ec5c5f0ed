import { useState } from 'react';
import { errorMessage } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog/ConfirmDialog';
import { EmptyState } from '../../components/EmptyState/EmptyState';
import { formatDuration, secondsBetween } from '../../components/format';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { PageHeader } from '../../components/PageHeader/PageHeader';
import { Time } from '../../components/Time/Time';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { useCancelAll, useClearQueue, useIsAdmin, useQueue, type QueueGroup } from '../../queries/queue';
import styles from './QueuePage.module.css';

type Action = 'clear' | 'cancel-all';

export function QueuePage() {
  useDocumentTitle('Queue');
  const queue = useQueue();
  const clear = useClearQueue();
  const cancelAll = useCancelAll();
  const isAdmin = useIsAdmin().data === true;
  const [confirming, setConfirming] = useState<Action | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);

  const active = confirming === 'cancel-all' ? cancelAll : clear;
  function close() {
    setConfirming(null);
    clear.reset();
    cancelAll.reset();
  }
  function confirm() {
    if (confirming === 'clear') {
      clear.mutate(undefined, {
        onSuccess: (r) => {
          setOutcome(`Removed ${r.cleared} queued task${r.cleared === 1 ? '' : 's'}.`);
          close();
        },
      });
    } else if (confirming === 'cancel-all') {
      cancelAll.mutate(undefined, {
        onSuccess: (r) => {
          setOutcome(`Cancelled ${r.cancelled.length} run${r.cancelled.length === 1 ? '' : 's'} and cleared ${r.cleared} more queued task${r.cleared === 1 ? '' : 's'}.`);
          close();
        },
      });
    }
  }

  const totals = queue.data?.totals;
  const groups = queue.data?.groups ?? [];
  const hasEstimates = groups.some((g) => g.estimated_start);
  return (
    <>
      <PageHeader
        title="Queue"
        subtitle={`Tasks waiting for a runner, grouped by the tags and executor they need${isAdmin ? ' (every user’s: you are an administrator)' : ''}.`}
        actions={
          <>
            <button type="button" className="danger" onClick={() => setConfirming('clear')} disabled={!totals?.queued}>
              Clear queued tasks
            </button>
          </>
        }
      />
      {outcome && (
        <Message kind="success" testId="queue-outcome">
          {outcome}
        </Message>
      )}
      {queue.isPending && <Loading label="Loading the queue" />}
      {queue.isError && <Message>Could not load the queue: {errorMessage(queue.error)}</Message>}
      {totals && (
        <dl className={styles.totals} data-testid="queue-totals">
          <div>
            <dt>Queued</dt>
            <dd>{totals.queued}</dd>
          </div>
          <div>
            <dt>Picked up</dt>
            <dd>{totals.leased}</dd>
          </div>
          <div>
            <dt>Running</dt>
            <dd>{totals.running}</dd>
          </div>
        </dl>
      )}
      {queue.data && groups.length === 0 && (
        <EmptyState title="The queue is empty" testId="queue-empty">
          <p>No task is waiting. Tasks appear here when a workflow is executed and wait until a runner that offers their tags and executor picks them up.</p>
        </EmptyState>
      )}
      {groups.length > 0 && (
        <table data-testid="queue-table" className={styles.table}>
          <thead>
            <tr>
              <th scope="col">Required tags</th>
              <th scope="col">Executor</th>
              <th scope="col">Queued</th>
              <th scope="col">Picked up</th>
              <th scope="col">Running</th>
              <th scope="col">Oldest wait</th>
              {hasEstimates && <th scope="col">Estimated start</th>}
            </tr>
          </thead>
          <tbody>
            {groups.map((group) => (
              <GroupRow key={`${group.tags.join(',')}|${group.executor}`} group={group} showEstimate={hasEstimates} />
            ))}
          </tbody>
        </table>
      )}
      {isAdmin && (
        <section className={styles.admin} aria-labelledby="admin-actions" data-testid="admin-actions">
          <h2 id="admin-actions">Administrator actions</h2>
          <p className="muted">These act on every user&apos;s runs, not only yours.</p>
          <button type="button" className="danger" onClick={() => setConfirming('cancel-all')}>
            Cancel every run and clear the queue
          </button>
        </section>
      )}
      <ConfirmDialog
        open={confirming !== null}
        title={confirming === 'cancel-all' ? 'Cancel every run?' : 'Clear the queued tasks?'}
        confirmLabel={confirming === 'cancel-all' ? 'Cancel everything' : 'Clear the queue'}
        dismissLabel="Go back"
        busy={active.isPending}
        error={active.error}
        onCancel={close}
        onConfirm={confirm}
      >
        {confirming === 'cancel-all' ? (
          <p>Every running run of every user is cancelled and every queued task removed. Runners stop the tasks they hold.</p>
        ) : (
          <p>Your queued tasks are removed (an administrator&apos;s: everyone&apos;s). Runs left with nothing to do finish as cancelled. Tasks already picked up keep running.</p>
        )}
      </ConfirmDialog>
    </>
  );
}

function GroupRow({ group, showEstimate }: { group: QueueGroup; showEstimate: boolean }) {
  const wait = secondsBetween(group.oldest_queued);
  return (
    <tr data-testid="queue-row">
      <td>
        {group.tags.length ? (
          <ul className={styles.tags}>
            {group.tags.map((tag) => (
              <li key={tag}>{tag}</li>
            ))}
          </ul>
        ) : (
          <span className="muted">any runner</span>
        )}
      </td>
      <td className="mono">{group.executor}</td>
      <td>{group.queued}</td>
      <td>{group.leased}</td>
      <td>{group.running}</td>
      <td>
        {wait === null ? <span className="muted">—</span> : <span title={group.oldest_queued ?? undefined}>{formatDuration(wait)}</span>}
      </td>
      {showEstimate && <td>{group.estimated_start ? <Time iso={group.estimated_start} /> : <span className="muted">—</span>}</td>}
    </tr>
  );
}
