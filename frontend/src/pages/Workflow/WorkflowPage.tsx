import { useCallback, useMemo, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { errorMessage } from '../../api/client';
import { Legend, useLaidOutModel, WorkflowGraph } from '../../components/Graph';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { NodePanel } from '../../components/RunView/NodePanel';
import { shortSha } from '../../components/format';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { ncToModel } from '../../lib/ncGraph';
import { planHighlight } from '../../lib/planHighlight';
import { usePlan } from '../../queries/plan';
import { useRunStatus } from '../../queries/status';
import { useHistory, useWorkflowDetail, useWorkflowFile } from '../../queries/workflowFile';
import { ExecuteDialog } from './ExecuteDialog';
import { RunSummaryLine } from './RunSummaryLine';
import styles from './WorkflowPage.module.css';

/**
 * A workflow: its graph (latest revision or `?revision=`) coloured by its last run (or `?run=`), execute
 * with overrides, the run followed live, and a side panel for the selected node.
 */
function counted(n: number, word: string): string {
  return `${n.toString()} ${word}${n === 1 ? '' : 's'}`;
}

export function WorkflowPage() {
  const { workflowId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const revision = params.get('revision');
  const runParam = params.get('run');
  const [selected, setSelected] = useState<string | null>(null);
  const [showPlan, setShowPlan] = useState(false);
  const [executeOpen, setExecuteOpen] = useState(false);

  const detail = useWorkflowDetail(workflowId);
  const history = useHistory(workflowId);
  const file = useWorkflowFile(workflowId, { revision });
  const status = useRunStatus(workflowId, runParam);
  const model = useMemo(() => (file.data ? ncToModel(file.data.nc) : null), [file.data]);
  const laidOut = useLaidOutModel(model);
  const plan = usePlan(workflowId, revision, showPlan);
  const highlight = useMemo(
    () => (showPlan && plan.data && model ? planHighlight(plan.data, model.edges) : null),
    [showPlan, plan.data, model],
  );
  useDocumentTitle(detail.data?.name ?? `Workflow ${workflowId}`);

  const onSelect = useCallback((id: string | null) => setSelected(id), []);
  const run = status.data?.run ?? null;
  const statuses = status.data?.nodes ?? null;
  const selectedNode = laidOut.model?.nodes.find((n) => n.id === selected) ?? null;
  const shownRevision = file.data?.revision ?? null;

  if (file.error) {
    return (
      <Message>
        {errorMessage(file.error)} <Link to="/">Back to the workflows</Link>
      </Message>
    );
  }

  const toolbar = (
    <div className={styles.graphToolbar}>
      <label className={styles.toggle}>
        <input type="checkbox" checked={showPlan} onChange={(e) => setShowPlan(e.target.checked)} />
        Highlight the execution plan
      </label>
      {showPlan && plan.isPending && <span className="muted">loading…</span>}
      {showPlan && highlight && (
        <span className="muted">
          {highlight.levelCount} levels · critical path {highlight.criticalNodes.length} nodes
        </span>
      )}
      {showPlan && plan.error && <span className={styles.fieldError}>{errorMessage(plan.error)}</span>}
    </div>
  );

  return (
    <div className={styles.page}>
      <div className={styles.header}>
        <div className={styles.titleBlock}>
          <h1 className={styles.title}>{detail.data?.name ?? `Workflow ${workflowId}`}</h1>
          <div className="muted">
            <label className={styles.revisionPicker}>
              <span className="visually-hidden">Revision shown</span>
              <select
                value={revision ?? ''}
                onChange={(e) => {
                  const next = new URLSearchParams(params);
                  if (e.target.value) next.set('revision', e.target.value);
                  else next.delete('revision');
                  setParams(next);
                }}
              >
                <option value="">latest revision{history.data?.[0] ? ` ${shortSha(history.data[0].revision)}: ${history.data[0].message}` : ''}</option>
                {history.data?.slice(1).map((r) => (
                  <option key={r.revision} value={r.revision}>
                    {shortSha(r.revision)}: {r.message} ({r.author})
                  </option>
                ))}
                {revision && !history.data?.some((r) => r.revision.startsWith(revision)) && <option value={revision}>{shortSha(revision)}</option>}
              </select>
            </label>
            {model && ` · ${counted(model.nodes.length, 'node')}, ${counted(model.edges.length, 'connection')}`}
            {laidOut.reason && ` · laid out automatically (${laidOut.reason === 'missing' ? 'positions missing in the file' : 'nodes overlapped'})`}
          </div>
        </div>
        <div className={styles.actions}>
          <button type="button" className="primary" onClick={() => setExecuteOpen(true)} disabled={!model}>
            Execute…
          </button>
          <Link className="button" to={`/workflows/${workflowId}/edit${revision ? `?revision=${revision}` : ''}`}>
            Edit
          </Link>
          <Link className="button" to={`/workflows/${workflowId}/history`}>
            History
          </Link>
          <Link className="button" to={`/workflows/${workflowId}/runs`}>
            Runs
          </Link>
        </div>
      </div>

      {status.data && (
        <div className={styles.runBar}>
          <RunSummaryLine workflowId={workflowId} status={status.data} />
          {shownRevision && run && run.revision !== shownRevision && (
            <span className={styles.note}>
              This run executed revision <span className="mono">{shortSha(run.revision)}</span>; the graph shows{' '}
              <span className="mono">{shortSha(shownRevision)}</span>.{' '}
              <Link to={`/workflows/${workflowId}/runs/${run.id.toString()}`}>See the run’s own graph</Link>
            </span>
          )}
        </div>
      )}
      {status.data === null && <p className="muted">This workflow has not run yet. Press Execute to start it.</p>}
      {status.error && <Message>Status: {errorMessage(status.error)}</Message>}
      {model && model.problems.length > 0 && (
        <Message kind="info">Some connections cannot be drawn: {model.problems.slice(0, 3).join('; ')}</Message>
      )}

      <div className={selectedNode ? `${styles.body} ${styles.withPanel}` : styles.body}>
        <div className={styles.graph}>
          {laidOut.model ? (
            <WorkflowGraph
              model={laidOut.model}
              statuses={statuses}
              plan={highlight}
              selectedId={selected}
              onSelect={onSelect}
              toolbar={toolbar}
              label={`Graph of ${detail.data?.name ?? 'the workflow'}`}
            />
          ) : (
            <Loading label={model ? 'Laying out the graph' : 'Loading the workflow'} />
          )}
        </div>
        {selectedNode && laidOut.model && (
          <NodePanel
            key={selectedNode.id}
            workflowId={workflowId}
            model={laidOut.model}
            node={selectedNode}
            run={run}
            status={statuses?.[selectedNode.id]}
            onClose={() => setSelected(null)}
          />
        )}
      </div>
      <Legend />

      <ExecuteDialog
        open={executeOpen}
        workflowId={workflowId}
        revision={revision}
        onClose={() => setExecuteOpen(false)}
        onStarted={(runId) => {
          setExecuteOpen(false);
          const next = new URLSearchParams(params);
          next.set('run', runId.toString());
          setParams(next);
        }}
      />
    </div>
  );
}
