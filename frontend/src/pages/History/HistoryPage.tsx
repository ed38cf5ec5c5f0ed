import { useCallback, useMemo, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { apiFetch, errorMessage } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog/ConfirmDialog';
import { DiffList } from '../../components/Diff/DiffList';
import { WorkflowGraph } from '../../components/Graph';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { Time } from '../../components/Time/Time';
import { shortSha } from '../../components/format';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { diffCanvas } from '../../lib/diffModel';
import { diffNc } from '../../lib/ncDiff';
import { downloadRevision, useHistory, usePublish, useWorkflowDetail, useWorkflowFile, type Revision } from '../../queries/workflowFile';
import { ExecuteDialog } from '../Workflow/ExecuteDialog';
import styles from './HistoryPage.module.css';

/** The diff of two revisions drawn on one canvas (newer graph + what was removed), and listed in words. */
function RevisionDiff({ workflowId, from, to }: { workflowId: string; from: string; to: string }) {
  const a = useWorkflowFile(workflowId, { revision: from });
  const b = useWorkflowFile(workflowId, { revision: to });
  const diff = useMemo(() => (a.data && b.data ? diffNc(a.data.nc, b.data.nc) : null), [a.data, b.data]);
  const drawn = useMemo(() => (a.data && b.data && diff ? diffCanvas(a.data.nc, b.data.nc, diff) : null), [a.data, b.data, diff]);
  const [selected, setSelected] = useState<string | null>(null);
  const onSelect = useCallback((id: string | null) => setSelected(id), []);
  if (a.error || b.error) return <Message>{errorMessage(a.error ?? b.error)}</Message>;
  if (!diff || !drawn) return <Loading label="Loading both revisions" />;
  return (
    <div className={styles.diff} data-testid="revision-diff">
      <div className={styles.diffGraph}>
        <WorkflowGraph
          model={drawn.model}
          marks={drawn.marks}
          edgeMarks={drawn.edgeMarks}
          selectedId={selected}
          onSelect={onSelect}
          label={`Changes from ${shortSha(from)} to ${shortSha(to)}`}
        />
      </div>
      <div className={styles.diffSide}>
        <DiffList diff={diff} names={{ before: shortSha(from), after: shortSha(to) }} />
        <p className={styles.legend}>
          <span className={styles.kAdded}>added</span> <span className={styles.kRemoved}>removed</span> <span className={styles.kChanged}>changed</span>{' '}
          <span className={styles.kMoved}>moved</span>: the word is on each marked node and connection.
        </p>
      </div>
    </div>
  );
}

/** `/workflows/:id/history`: every revision; view, edit from, execute, download, restore; the diff of any two. */
export function HistoryPage() {
  const { workflowId = '' } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const detail = useWorkflowDetail(workflowId);
  const history = useHistory(workflowId);
  const publish = usePublish(workflowId);
  const [executeRevision, setExecuteRevision] = useState<string | null>(null);
  const [restoring, setRestoring] = useState<Revision | null>(null);
  const [restored, setRestored] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  useDocumentTitle(`History of ${detail.data?.name ?? `workflow ${workflowId}`}`);

  const revisions = history.data ?? [];
  const from = params.get('from') ?? revisions[1]?.revision ?? null;
  const to = params.get('to') ?? revisions[0]?.revision ?? null;
  const choose = (which: 'from' | 'to', sha: string) => {
    const next = new URLSearchParams(params);
    next.set(which, sha);
    if (!next.get(which === 'from' ? 'to' : 'from')) next.set(which === 'from' ? 'to' : 'from', (which === 'from' ? to : from) ?? sha);
    setParams(next, { replace: true });
  };

  const restore = (revision: Revision) => {
    // Restoring publishes the old content as a new revision on top of the latest: nothing is rewritten.
    void (async () => {
      try {
        const response = await apiFetch(`workflow/get/${workflowId}?revision=${revision.revision}`);
        const nc: unknown = await response.json();
        const latest = revisions[0]?.revision;
        publish.mutate(
          { workflow: nc, message: `Restore ${shortSha(revision.revision)}: ${revision.message}`, ...(latest ? { base_revision: latest } : {}) },
          {
            onSuccess: (answer) => {
              setRestoring(null);
              setRestored(answer.revision);
            },
          },
        );
      } catch (error) {
        setDownloadError(error);
      }
    })();
  };

  if (history.error) return <Message>{errorMessage(history.error)}</Message>;
  const name = detail.data?.name ?? `Workflow ${workflowId}`;
  return (
    <div className={styles.page}>
      <div className={styles.header}>
        <h1 className={styles.title}>History of {name}</h1>
        <div className={styles.actions}>
          <Link className="button" to={`/workflows/${workflowId}`}>
            Graph
          </Link>
          <Link className="button" to={`/workflows/${workflowId}/edit`}>
            Edit
          </Link>
          <Link className="button" to={`/workflows/${workflowId}/runs`}>
            Runs
          </Link>
        </div>
      </div>
      {restored && (
        <Message kind="success">
          Restored as the new revision <span className="mono">{shortSha(restored)}</span>.
        </Message>
      )}
      {downloadError !== null && <Message>{errorMessage(downloadError)}</Message>}
      {history.isPending ? (
        <Loading label="Loading the revisions" />
      ) : (
        <table className={styles.table} data-testid="revisions">
          <caption className="visually-hidden">Revisions, newest first</caption>
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Revision</th>
              <th scope="col">Message</th>
              <th scope="col">Author</th>
              <th scope="col">Time</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {revisions.map((r, i) => (
              <tr key={r.revision} data-revision={r.revision}>
                <td>
                  <input type="radio" name="from" aria-label={`Compare from ${shortSha(r.revision)}`} checked={from === r.revision} onChange={() => choose('from', r.revision)} />
                </td>
                <td>
                  <input type="radio" name="to" aria-label={`Compare to ${shortSha(r.revision)}`} checked={to === r.revision} onChange={() => choose('to', r.revision)} />
                </td>
                <td className="mono">
                  {shortSha(r.revision)}
                  {i === 0 && <span className={styles.latest}>latest</span>}
                </td>
                <td className={styles.message}>{r.message}</td>
                <td>{r.author}</td>
                <td>
                  <Time iso={r.time} />
                </td>
                <td className={styles.rowActions}>
                  <Link to={`/workflows/${workflowId}?revision=${r.revision}`}>View</Link>
                  <Link to={`/workflows/${workflowId}/edit${i === 0 ? '' : `?revision=${r.revision}`}`}>Edit</Link>
                  <button type="button" className="link" onClick={() => setExecuteRevision(r.revision)}>
                    Execute
                  </button>
                  <button
                    type="button"
                    className="link"
                    onClick={() => {
                      setDownloadError(null);
                      downloadRevision(workflowId, r.revision, name).catch(setDownloadError);
                    }}
                  >
                    Download .nc
                  </button>
                  {i > 0 && (
                    <button type="button" className="link" onClick={() => setRestoring(r)}>
                      Restore
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2 className={styles.subTitle}>Changes</h2>
      {from && to && from !== to ? (
        <RevisionDiff workflowId={workflowId} from={from} to={to} />
      ) : (
        <p className="muted">{revisions.length < 2 ? 'One revision so far: publish a change to compare.' : 'Choose two different revisions (From, To) to compare.'}</p>
      )}
      <ExecuteDialog
        open={executeRevision !== null}
        workflowId={workflowId}
        revision={executeRevision}
        onClose={() => setExecuteRevision(null)}
        onStarted={(runId) => {
          setExecuteRevision(null);
          void navigate(`/workflows/${workflowId}/runs/${runId.toString()}`);
        }}
      />
      <ConfirmDialog
        open={restoring !== null}
        title={`Restore revision ${shortSha(restoring?.revision)}?`}
        confirmLabel="Restore as a new revision"
        busy={publish.isPending}
        error={publish.error}
        onConfirm={() => restoring && restore(restoring)}
        onCancel={() => setRestoring(null)}
      >
        <p>
          Its content is published again as the newest revision (“Restore {shortSha(restoring?.revision)}: {restoring?.message}”). Nothing is
          rewritten: every revision stays in the history.
        </p>
      </ConfirmDialog>
    </div>
  );
}
