import { useCallback, useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { apiFetch, errorMessage } from '../../api/client';
import { DiffList } from '../../components/Diff/DiffList';
import { WorkflowGraph } from '../../components/Graph';
import { Message } from '../../components/Message/Message';
import { Time } from '../../components/Time/Time';
import { shortSha } from '../../components/format';
import { diffCanvas } from '../../lib/diffModel';
import { diffNc, diffSummary } from '../../lib/ncDiff';
import type { NcDoc } from '../../lib/ncEdit';
import { useHistory } from '../../queries/workflowFile';
import styles from './WorkflowEdit.module.css';

export interface ConflictViewProps {
  workflowId: string;
  base: { doc: NcDoc; revision: string | null };
  mine: NcDoc;
  comparing: boolean;
  onCompare: (on: boolean) => void;
  busy: boolean;
  error: unknown;
  /** Publish the local document as the newest revision, on top of `latest` (which stays in the history). */
  onPublishOnTop: (latest: string) => void;
  /** Drop the local changes and edit the latest revision. */
  onTakeLatest: (doc: NcDoc, latest: string) => void;
  onDismiss: () => void;
}

/** A read-only canvas of one side of the conflict, its changes since the common base marked. */
function Side({ title, before, after, testId }: { title: string; before: NcDoc; after: NcDoc; testId: string }) {
  const diff = useMemo(() => diffNc(before, after), [before, after]);
  const drawn = useMemo(() => diffCanvas(before, after, diff), [before, after, diff]);
  const noop = useCallback(() => undefined, []);
  return (
    <section className={styles.side} data-testid={testId} aria-label={title}>
      <h3>{title}</h3>
      <div className={styles.sideGraph}>
        <WorkflowGraph model={drawn.model} marks={drawn.marks} edgeMarks={drawn.edgeMarks} selectedId={null} onSelect={noop} label={title} />
      </div>
      <DiffList diff={diff} />
    </section>
  );
}

/**
 * The 409 of a publish, explained: someone published after the revision this edit started from. Nothing
 * is dropped: the local changes stay in the editor, the other revision stays in the history, and the user
 * chooses, after seeing both side by side.
 */
export function ConflictView({ workflowId, base, mine, comparing, onCompare, busy, error, onPublishOnTop, onTakeLatest, onDismiss }: ConflictViewProps) {
  const latest = useQuery({
    queryKey: ['workflowFile', workflowId, 'conflict', base.revision],
    queryFn: async ({ signal }) => {
      const response = await apiFetch(`workflow/get/${workflowId}`, { signal });
      return { nc: (await response.json()) as NcDoc, revision: response.headers.get('X-Nodeworks-Revision') ?? '' };
    },
    staleTime: 0,
  });
  const history = useHistory(workflowId);
  const head = history.data?.find((r) => r.revision === latest.data?.revision) ?? history.data?.[0];
  const theirs = useMemo(() => (latest.data ? diffNc(base.doc, latest.data.nc) : null), [base.doc, latest.data]);

  return (
    <section className={styles.conflict} role="alert" aria-label="Publish refused: a newer revision exists" data-testid="conflict">
      <h2>Not published: someone published a newer revision</h2>
      <p>
        Your edit started from revision <span className="mono">{shortSha(base.revision ?? '')}</span>, but{' '}
        {head ? (
          <>
            <b>{head.author}</b> published <span className="mono">{shortSha(head.revision)}</span> “{head.message}”{' '}
            <Time iso={head.time} />
          </>
        ) : (
          'another revision was published'
        )}{' '}
        in between. The server refused to put your version on top without you seeing theirs (HTTP 409).{' '}
        <b>Nothing is lost:</b> your changes are still here, unpublished, and their revision is in the history.
      </p>
      {theirs && <p>Their changes since your starting point: {diffSummary(theirs)}.</p>}
      {latest.error && <Message>{errorMessage(latest.error)}</Message>}
      <div className={styles.conflictButtons}>
        <button type="button" className="primary" onClick={() => onCompare(!comparing)} aria-expanded={comparing}>
          {comparing ? 'Hide the comparison' : 'Open the latest revision beside my changes'}
        </button>
        <button
          type="button"
          disabled={!latest.data || busy}
          onClick={() => latest.data && onPublishOnTop(latest.data.revision)}
          title="Your version becomes the newest revision; theirs stays in the history"
        >
          Publish mine on top of it
        </button>
        <button type="button" disabled={!latest.data} onClick={() => latest.data && onTakeLatest(latest.data.nc, latest.data.revision)}>
          Drop my changes and edit theirs
        </button>
        <button type="button" onClick={onDismiss}>
          Keep editing
        </button>
      </div>
      {error !== null && error !== undefined && <Message>{errorMessage(error)}</Message>}
      {comparing && latest.data && (
        <div className={styles.sides}>
          <Side title={`Latest revision ${shortSha(latest.data.revision)} (theirs)`} before={base.doc} after={latest.data.nc} testId="conflict-theirs" />
          <Side title="Your unpublished changes" before={base.doc} after={mine} testId="conflict-mine" />
        </div>
      )}
    </section>
  );
}
