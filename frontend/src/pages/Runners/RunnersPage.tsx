import { useState } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog/ConfirmDialog';
import { EmptyState } from '../../components/EmptyState/EmptyState';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { PageHeader } from '../../components/PageHeader/PageHeader';
import { StateBadge } from '../../components/StateBadge';
import { StatusPill } from '../../components/StatusPill/StatusPill';
import { Time } from '../../components/Time/Time';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { useRunners, useShutdownRunner, type Runner } from '../../queries/runners';
import styles from './RunnersPage.module.css';

export function RunnersPage() {
  useDocumentTitle('Runners');
  const runners = useRunners();
  const shutdown = useShutdownRunner();
  const [stopping, setStopping] = useState<Runner | null>(null);

  function close() {
    setStopping(null);
    shutdown.reset();
  }

  const online = runners.data?.filter((r) => r.status !== 'offline').length ?? 0;
  return (
    <>
      <PageHeader
        title="Runners"
        subtitle={
          runners.data && runners.data.length > 0
            ? `${online} of ${runners.data.length} runner${runners.data.length === 1 ? '' : 's'} connected. Runners lease tasks whose tags and executor they offer.`
            : 'The machines that execute your workflows.'
        }
      />
      {runners.isPending && <Loading label="Loading runners" />}
      {runners.isError && <Message>Could not load the runners: {errorMessage(runners.error)}</Message>}
      {runners.data && runners.data.length === 0 && (
        <EmptyState title="No runners yet" testId="runners-empty">
          <p>Nothing runs until a runner is connected. On any machine with Python 3.9+:</p>
          <ol>
            <li>
              Create a personal API token on the <Link to="/settings/tokens">Tokens</Link> page.
            </li>
            <li>
              <code>pip install ./runner_client</code> (from this project&apos;s repository)
            </li>
            <li>
              <code>
                nodeworks-runner register --url {window.location.origin} --token nwu_… --name my-laptop --executors
                local,shell
              </code>
            </li>
            <li>
              <code>nodeworks-runner run</code>
            </li>
          </ol>
        </EmptyState>
      )}
      {runners.data && runners.data.length > 0 && (
        <table data-testid="runners-table" className={styles.table}>
          <thead>
            <tr>
              <th scope="col">Runner</th>
              <th scope="col">Status</th>
              <th scope="col">Tags</th>
              <th scope="col">Executors</th>
              <th scope="col">Current tasks</th>
              <th scope="col">Last contact</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {runners.data.map((runner) => (
              <RunnerRow key={runner.id} runner={runner} onShutdown={() => setStopping(runner)} />
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={stopping !== null}
        title={`Shut down ${stopping?.name ?? ''}?`}
        confirmLabel="Shut down"
        busy={shutdown.isPending}
        error={shutdown.error}
        onCancel={close}
        onConfirm={() => stopping && shutdown.mutate(stopping.id, { onSuccess: close })}
      >
        <p>
          The runner finishes the tasks it holds, takes no new ones and exits. It is told at its next contact. To use it
          again, start <code>nodeworks-runner run</code> on its machine.
        </p>
      </ConfirmDialog>
    </>
  );
}

function RunnerRow({ runner, onShutdown }: { runner: Runner; onShutdown: () => void }) {
  const status = runner.shutdown_requested && runner.status === 'online' ? 'draining' : runner.status;
  return (
    <tr data-testid="runner-row" data-runner-name={runner.name}>
      <td>
        <strong>{runner.name}</strong>
        <div className="muted">
          {[runner.hostname, runner.version && `v${runner.version}`, `owner ${runner.owner}`].filter(Boolean).join(' · ')}
        </div>
      </td>
      <td>
        <StatusPill status={status} title={runner.shutdown_requested ? 'asked to shut down' : undefined} />
      </td>
      <td>
        <TagList items={runner.tags} empty="no tags" />
      </td>
      <td>
        <TagList items={runner.executors} empty="—" />
      </td>
      <td>
        {runner.current_tasks.length === 0 ? (
          <span className="muted">idle</span>
        ) : (
          <ul className={styles.tasks}>
            {runner.current_tasks.map((task) => (
              <li key={task.task_id}>
                <StateBadge state={task.state} size="sm" /> <span className="mono">{task.node}</span>{' '}
                <span className="muted">run {task.run}</span>
                {task.estimated_finish && (
                  <span className="muted">
                    {' '}
                    · done <Time iso={task.estimated_finish} />
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        <Time iso={runner.last_contact} fallback="never" />
      </td>
      <td className={styles.actions}>
        <button
          type="button"
          className="danger"
          onClick={onShutdown}
          disabled={runner.shutdown_requested || runner.status === 'offline'}
          aria-label={`Shut down ${runner.name}`}
          title={runner.shutdown_requested ? 'Already asked to shut down' : undefined}
        >
          {runner.shutdown_requested ? 'Shutting down' : 'Shut down'}
        </button>
      </td>
    </tr>
  );
}

function TagList({ items, empty }: { items: string[]; empty: string }) {
  if (items.length === 0) return <span className="muted">{empty}</span>;
  return (
    <ul className={styles.tags}>
      {items.map((item) => (
        <li key={item}>{item}</li>
      ))}
    </ul>
  );
}
