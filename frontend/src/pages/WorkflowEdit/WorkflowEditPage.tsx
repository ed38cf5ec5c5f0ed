import { useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { errorMessage } from '../../api/client';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { isNode, type NcDoc } from '../../lib/ncEdit';
import type { JsonObject } from '../../lib/ncGraph';
import { useWorkflowDetail, useWorkflowFile } from '../../queries/workflowFile';
import { Editor } from './Editor';

/**
 * Nodes without a usable position (hand-written files) get one on a grid, so they can be seen and
 * dragged; the first edit then saves those positions with the rest.
 */
function placeUnpositioned(nc: NcDoc): NcDoc {
  let out: NcDoc | null = null;
  let i = 0;
  for (const [key, value] of Object.entries(nc)) {
    if (!isNode(value)) continue;
    const pos = value.pos;
    if (Array.isArray(pos) && typeof pos[0] === 'number' && typeof pos[1] === 'number') continue;
    out ??= { ...nc };
    out[key] = { ...value, pos: [(i % 6) * 260, Math.floor(i / 6) * 180] };
    i += 1;
  }
  return out ?? nc;
}

/** `/workflows/:id/edit` (from the latest revision, or `?revision=`) and `/workflows/new`. */
export function WorkflowEditPage() {
  const { workflowId } = useParams();
  const [params] = useSearchParams();
  const revision = params.get('revision');
  const detail = useWorkflowDetail(workflowId);
  const file = useWorkflowFile(workflowId, { revision });
  useDocumentTitle(workflowId ? `Edit ${detail.data?.name ?? `workflow ${workflowId}`}` : 'New workflow');
  const doc = useMemo(() => {
    const nc = file.data?.nc;
    return nc && typeof nc === 'object' && !Array.isArray(nc) ? placeUnpositioned(nc as JsonObject) : null;
  }, [file.data]);

  if (!workflowId) return <Editor key="new" workflowId={null} name="" initialDoc={{}} baseRevision={null} />;
  if (file.error) {
    return (
      <Message>
        {errorMessage(file.error)} <Link to="/">Back to the workflows</Link>
      </Message>
    );
  }
  if (!doc || !file.data || !detail.data) return <Loading label="Loading the workflow" />;
  // An old revision opened for editing publishes on top of the latest: its base is the latest revision.
  const base = revision ? detail.data.revision : file.data.revision;
  // Keyed by what was asked for, not by the revision answered: a publish refetches "latest", and that must
  // not remount the editor (its undo history and messages would go).
  return <Editor key={`${workflowId}@${revision ?? 'latest'}`} workflowId={workflowId} name={detail.data.name} initialDoc={doc} baseRevision={base} />;
}
