import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { errorMessage } from '../../api/client';
import { Legend, useLaidOutModel, WorkflowGraph } from '../../components/Graph';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { NodePanel } from '../../components/RunView/NodePanel';
import { Timeline } from '../../components/RunView/Timeline';
import { StateBadge } from '../../components/StateBadge/StateBadge';
import { Time } from '../../components/Time/Time';
import { formatDuration, secondsBetween, shortSha } from '../../components/format';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { ncToModel } from '../../lib/ncGraph';
import { isFinalRunState } from '../../lib/taskStates';
import type { TimelineTask } from '../../lib/timeline';
import { useRunStatus } from '../../queries/status';
import { useCancelRun, useWorkflowDetail, useWorkflowFile } from '../../queries/workflowFile';
import styles from './RunPage.module.css';

function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(1100);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry.contentRect.width)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** One run: the graph of its own revision coloured as it ended (or live), the node panel and a timeline. */
export function RunPage() {
  const { workflowId = '', runId = '' } = useParams();
  const [selected, setSelected] = useState<string | null>(null);
  const detail = useWorkflowDetail(workflowId);
  const status = useRunStatus(workflowId, runId);
  // The run's revision with its overrides and outputs filled in, as Nodeworks saves a sheet after a run.
  const sheet = useWorkflowFile(workflowId, { run: runId });
  const model = useMemo(() => (sheet.data ? ncToModel(sheet.data.nc) : null), [sheet.data]);
  const laidOut = useLaidOutModel(model);
  const cancelRun = useCancelRun(workflowId);
  const [timelineBox, timelineWidth] = useWidth<HTMLDivElement>();
  useDocumentTitle(`Run ${runId}${detail.data ? ` of ${detail.data.name}` : ''}`);
  const onSelect = useCallback((id: string | null) => setSelected(id), []);

  const run = status.data?.run ?? null;
  const statuses = status.data?.nodes ?? null;
  const live = !!run && !isFinalRunState(run.state);
  const tasks: TimelineTask[] = useMemo(() => {
    if (!statuses) return [];
    const names = new Map(model?.nodes.map((n) => [n.id, n.name]));
    return Object.entries(statuses).map(([node, s]) => ({
      node,
      name: s.name ?? names.get(node) ?? node,
      state: s.state,
      runner: s.runner,
      started: s.started,
      finished: s.finished,
    }));
  }, [statuses, model]);
  const selectedNode = laidOut.model?.nodes.find((n) => n.id === selected) ?? null;

  if (status.error || sheet.error) {
    return (
      <Message>
        {errorMessage(status.error ?? sheet.error)} <Link to={`/workflows/${workflowId}/runs`}>Back to the runs</Link>
      </Message>
    );
  }

  const counts = new Map<string, number>();
  for (const s of Object.values(statuses ?? {})) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);

  return (
    <div className={styles.page}>
      <nav className={styles.crumbs} aria-label="Breadcrumb">
        <Link to="/">Workflows</Link> › <Link to={`/workflows/${workflowId}`}>{detail.data?.name ?? `Workflow ${workflowId}`}</Link> ›{' '}
        <Link to={`/workflows/${workflowId}/runs`}>Runs</Link> › Run {runId}
      </nav>
      <div className={styles.header}>
        <div>
          <h1 className={styles.title}>
            Run {runId} {run && <StateBadge state={run.state} />}
          </h1>
          {run && (
            <dl className={styles.facts} data-testid="run-header" data-run-state={run.state}>
              <dt>revision</dt>
              <dd className="mono">{shortSha(run.revision)}</dd>
              <dt>started by</dt>
              <dd>{run.created_by ?? '—'}</dd>
              <dt>created</dt>
              <dd>
                <Time iso={run.created} />
              </dd>
              <dt>waited</dt>
              <dd>{run.started ? formatDuration(secondsBetween(run.created, run.started)) : '—'}</dd>
              <dt>ran</dt>
              <dd>{run.started ? formatDuration(secondsBetween(run.started, run.finished)) : '—'}</dd>
              <dt>finished</dt>
              <dd>
                <Time iso={run.finished} fallback={live ? 'still running' : '—'} />
              </dd>
            </dl>
          )}
          {counts.size > 0 && (
            <ul className={styles.counts} aria-label="Tasks by state">
              {[...counts].map(([state, n]) => (
                <li key={state}>
                  <StateBadge state={state} size="sm" label={`${n.toString()} ${state.replace(/_/g, ' ')}`} />
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className={styles.actions}>
          {live && run && (
            <button type="button" className="danger" disabled={cancelRun.isPending} onClick={() => cancelRun.mutate(run.id)}>
              Cancel run
            </button>
          )}
          <Link className="button" to={`/workflows/${workflowId}?run=${runId}`}>
            Open in the workflow
          </Link>
        </div>
      </div>
      {cancelRun.error && <Message>{errorMessage(cancelRun.error)}</Message>}

      <div className={selectedNode ? `${styles.body} ${styles.withPanel}` : styles.body}>
        <div className={styles.graph}>
          {laidOut.model ? (
            <WorkflowGraph model={laidOut.model} statuses={statuses} selectedId={selected} onSelect={onSelect} label={`Graph of run ${runId}`} />
          ) : (
            <Loading label={model ? 'Laying out the graph' : 'Loading the run'} />
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

      <section aria-labelledby="timeline-title" ref={timelineBox}>
        <h2 id="timeline-title">Timeline</h2>
        <Timeline tasks={tasks} runStarted={run?.started} live={live} selectedId={selected} onSelect={onSelect} width={timelineWidth - 34} />
      </section>
    </div>
  );
}
