import { useState } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog/ConfirmDialog';
import { EmptyState } from '../../components/EmptyState/EmptyState';
import { firstLine, shortSha } from '../../components/format';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { PageHeader } from '../../components/PageHeader/PageHeader';
import { StateBadge } from '../../components/StateBadge';
import { Time } from '../../components/Time/Time';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { useDeleteWorkflow, useWorkflows, type WorkflowListItem } from '../../queries/workflows';
import { UploadWorkflow } from './UploadWorkflow';
import styles from './WorkflowsPage.module.css';

export function WorkflowsPage() {
  useDocumentTitle('Workflows');
  const workflows = useWorkflows();
  const remove = useDeleteWorkflow();
  const [deleting, setDeleting] = useState<WorkflowListItem | null>(null);

  function closeDelete() {
    setDeleting(null);
    remove.reset();
  }

  return (
    <>
      <PageHeader
        title="Workflows"
        subtitle="Your Nodeworks node graphs: upload one, or draw one in the browser; open it to run it and watch it."
        actions={
          <Link className="button" to="/workflows/new">
            New workflow
          </Link>
        }
      />
      <UploadWorkflow />
      {workflows.isPending && <Loading label="Loading your workflows" />}
      {workflows.isError && <Message>Could not load your workflows: {errorMessage(workflows.error)}</Message>}
      {workflows.data && workflows.data.length === 0 && (
        <EmptyState title="No workflows yet" testId="workflows-empty">
          <p>To run your first workflow:</p>
          <ol>
            <li>
              Save a node graph from MFIX Nodeworks as a <code>.nc</code> file.
            </li>
            <li>Drop it on the box above (or choose it), give it a name and press Upload.</li>
            <li>
              Start a runner so there is a machine to do the work: create a token on the{' '}
              <Link to="/settings/tokens">Tokens</Link> page, then follow the steps on the{' '}
              <Link to="/runners">Runners</Link> page.
            </li>
          </ol>
        </EmptyState>
      )}
      {workflows.data && workflows.data.length > 0 && (
        <table className={styles.table} data-testid="workflows-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Latest revision</th>
              <th scope="col">Last run</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {workflows.data.map((workflow) => (
              <WorkflowRow key={workflow.id} workflow={workflow} onDelete={() => setDeleting(workflow)} />
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.name ?? ''}?`}
        confirmLabel="Delete workflow"
        requireText={deleting?.name}
        busy={remove.isPending}
        error={remove.error}
        onCancel={closeDelete}
        onConfirm={() => {
          if (deleting) remove.mutate(deleting.id, { onSuccess: closeDelete });
        }}
      >
        <p>
          This deletes the workflow, every revision and every run of it, with their logs and artifacts. It cannot be
          undone.
        </p>
      </ConfirmDialog>
    </>
  );
}

function WorkflowRow({ workflow, onDelete }: { workflow: WorkflowListItem; onDelete: () => void }) {
  const revision = workflow.latest_revision;
  const lastRun = workflow.last_run;
  return (
    <tr data-testid="workflow-row" data-workflow-id={workflow.id}>
      <td>
        <Link to={`/workflows/${workflow.id}`} className={styles.name}>
          {workflow.name}
        </Link>
        <div className="muted">
          {workflow.node_count} node{workflow.node_count === 1 ? '' : 's'}
        </div>
      </td>
      <td>
        <code title={revision?.sha ?? workflow.revision}>{shortSha(revision?.sha ?? workflow.revision)}</code>{' '}
        {revision ? (
          <>
            <span>{firstLine(revision.message, 60)}</span>
            <div className="muted">
              {revision.author} · <Time iso={revision.time} />
            </div>
          </>
        ) : (
          <div className="muted">
            updated <Time iso={workflow.updated} />
          </div>
        )}
      </td>
      <td>
        {lastRun ? (
          <>
            <Link to={`/workflows/${workflow.id}/runs/${lastRun.id}`} aria-label={`Run ${lastRun.id}, ${lastRun.state}`}>
              <StateBadge state={lastRun.state} size="sm" />
            </Link>
            <div className="muted">
              <Time iso={lastRun.finished ?? lastRun.created} />
              {!lastRun.finished && lastRun.estimated_finish && (
                <>
                  {' '}
                  · done <Time iso={lastRun.estimated_finish} />
                </>
              )}
            </div>
          </>
        ) : (
          <span className="muted">never run</span>
        )}
      </td>
      <td className={styles.actions}>
        <Link className="button" to={`/workflows/${workflow.id}`}>
          Open
        </Link>
        <Link className="button" to={`/workflows/${workflow.id}/runs`}>
          Runs
        </Link>
        <button type="button" className="danger" onClick={onDelete} aria-label={`Delete ${workflow.name}`}>
          Delete
        </button>
      </td>
    </tr>
  );
}
