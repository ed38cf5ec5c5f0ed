import { useEffect, useState } from 'react';
import { errorMessage } from '../../api/client';
import type { GraphModel, NodeModel } from '../../lib/ncGraph';
import { isFinalRunState } from '../../lib/taskStates';
import { summarizeValue } from '../../lib/valueSummary';
import { explainWaiting } from '../../lib/waiting';
import type { NodeStatus } from '../../queries/status';
import { useCancelRun, useCancelTask, useWorkflowFile } from '../../queries/workflowFile';
import { formatDuration, secondsBetween } from '../format';
import { StateBadge } from '../StateBadge/StateBadge';
import { Time } from '../Time/Time';
import { Artifacts } from './Artifacts';
import { LogView } from './LogView';
import styles from './RunView.module.css';

export interface NodePanelProps {
  workflowId: string;
  model: GraphModel;
  node: NodeModel;
  /** The run shown, if any. */
  run: { id: number; state: string } | null;
  /** This node's task in that run (undefined: no run, or the node is not in it). */
  status: NodeStatus | undefined;
  onClose: () => void;
}

/** Seconds since `iso`, re-rendered every second while `live` (only this panel ticks, never the graph). */
function useElapsed(iso: string | null | undefined, end: string | null | undefined, live: boolean): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [live]);
  return secondsBetween(iso, end, now);
}

function Value({ value }: { value: unknown }) {
  const s = summarizeValue(value);
  return (
    <span className={styles.value} data-kind={s.kind}>
      <span className="mono">{s.text}</span>
      {s.detail && <span className={styles.valueDetail}>{s.detail}</span>}
    </span>
  );
}

/** An unconnected input: the run's value, and the saved one beside it when the run overrode it. */
function InputValue({ saved, run }: { saved: unknown; run: { found: boolean; value: unknown } }) {
  if (!run.found || JSON.stringify(run.value) === JSON.stringify(saved ?? null)) return <Value value={saved} />;
  return (
    <span className={styles.value}>
      <Value value={run.value} />
      <span className={styles.valueDetail}>
        overridden for this run (saved: {summarizeValue(saved).text})
      </span>
    </span>
  );
}

const CANCELLABLE = new Set(['pending', 'queued', 'leased', 'running']);

/** Everything about one node of a run: state, times, values, error, the live log, artifacts, and why it waits. */
export function NodePanel({ workflowId, model, node, run, status, onClose }: NodePanelProps) {
  const running = status?.state === 'running' || status?.state === 'leased';
  const elapsed = useElapsed(status?.started, status?.finished, running && !status?.finished);
  const cancelTask = useCancelTask(workflowId);
  const cancelRun = useCancelRun(workflowId);
  const waiting = explainWaiting(status?.waiting);
  const sources = new Map<string, string[]>();
  for (const e of model.edges) {
    if (e.target !== node.id) continue;
    const from = model.nodes.find((n) => n.id === e.source);
    const list = sources.get(e.targetHandle) ?? [];
    list.push(`${from?.name ?? e.source}.${e.sourceHandle}${e.feedback ? ' (feedback)' : ''}`);
    sources.set(e.targetHandle, list);
  }
  const outputs = status?.outputs ?? null;
  const outputNames = outputs ? Object.keys(outputs) : node.outputs.map((t) => t.name);
  // The run's own input values (its overrides included) come from the run's sheet, not from the revision.
  const sheet = useWorkflowFile(workflowId, { run: run ? String(run.id) : null });
  const runInput = (terminal: string): { found: boolean; value: unknown } => {
    const nc = run && sheet.data ? (sheet.data.nc as Record<string, { terminals?: Record<string, { value?: unknown }> }>) : null;
    const t = nc?.[node.id]?.terminals?.[terminal];
    return t ? { found: true, value: t.value ?? null } : { found: false, value: undefined };
  };
  const started = !!status?.started || (status && !['pending', 'queued'].includes(status.state));

  const logSection = status && run && (
    <section className={styles.section}>
      <h3>Log</h3>
      {started ? (
        <LogView runId={run.id} node={node.id} stateKey={`${status.state}:${String(status.attempt)}`} />
      ) : (
        <p className="muted">No log yet: the task has not started.</p>
      )}
    </section>
  );
  // A failed task's log explains its error: shown right under it; otherwise it comes last.
  const logFirst = status?.state === 'failed';

  return (
    <aside className={styles.panel} aria-labelledby="node-panel-title" data-testid="node-panel">
      <div className={styles.panelHeader}>
        <div>
          <h2 id="node-panel-title" className={styles.panelTitle}>
            {node.name}
          </h2>
          <div className={styles.panelPath}>
            {node.path.join(' / ')} · <span className="mono">{node.id}</span>
          </div>
        </div>
        <button type="button" onClick={onClose} aria-label="Close the node panel">
          ✕
        </button>
      </div>

      <section className={styles.section}>
        {status ? (
          <StateBadge
            state={status.state}
            context={{ runner: status.runner, seconds: status.state === 'running' ? elapsed : secondsBetween(status.started, status.finished), attempt: status.attempt }}
          />
        ) : (
          <p className="muted">{run ? 'This node is not part of the run shown.' : 'Not run yet.'}</p>
        )}
        {status && (
          <dl className={styles.facts}>
            <dt>attempt</dt>
            <dd>{status.attempt}</dd>
            <dt>runner</dt>
            <dd>{status.runner ?? '—'}</dd>
            <dt>started</dt>
            <dd>
              <Time iso={status.started} />
            </dd>
            <dt>finished</dt>
            <dd>
              <Time iso={status.finished} />
            </dd>
            <dt>duration</dt>
            <dd>{status.started ? formatDuration(elapsed) : '—'}</dd>
          </dl>
        )}
        {status && run && (
          <div className={styles.actions}>
            {CANCELLABLE.has(status.state) && status.task_id !== undefined && (
              <button type="button" className="danger" disabled={cancelTask.isPending} onClick={() => cancelTask.mutate(status.task_id!)}>
                Cancel task
              </button>
            )}
            {!isFinalRunState(run.state) && (
              <button type="button" className="danger" disabled={cancelRun.isPending} onClick={() => cancelRun.mutate(run.id)}>
                Cancel run
              </button>
            )}
          </div>
        )}
        {(cancelTask.error || cancelRun.error) && <p className={styles.errorText} role="alert">{errorMessage(cancelTask.error ?? cancelRun.error)}</p>}
      </section>

      {waiting && (
        <section className={styles.section} aria-label="Why is it waiting">
          <h3>Why is it waiting?</h3>
          <p>{waiting.headline}</p>
          <p className="muted">{waiting.detail}</p>
          {waiting.hint && <p>{waiting.hint}</p>}
        </section>
      )}

      {status?.error && (
        <section className={styles.section}>
          <h3>Error</h3>
          <pre className={styles.error} data-testid="node-error">
            {status.error}
          </pre>
        </section>
      )}

      {logFirst && logSection}

      <section className={styles.section}>
        <h3>Inputs</h3>
        {node.inputs.length === 0 ? (
          <p className="muted">No inputs.</p>
        ) : (
          <table className={styles.values}>
            <tbody>
              {node.inputs.map((t) => (
                <tr key={t.name}>
                  <th scope="row">{t.name}</th>
                  <td>
                    {sources.has(t.name) ? (
                      <span className="muted">from {sources.get(t.name)!.join(', ')}</span>
                    ) : (
                      <InputValue saved={t.value} run={runInput(t.name)} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className={styles.section}>
        <h3>Outputs{!outputs && node.outputs.length > 0 ? ' (saved in the file)' : ''}</h3>
        {outputNames.length === 0 ? (
          <p className="muted">No outputs.</p>
        ) : (
          <table className={styles.values} data-testid="node-outputs">
            <tbody>
              {outputNames.map((name) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>
                    <Value value={outputs ? outputs[name] : node.outputs.find((t) => t.name === name)?.value} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {status && status.artifacts.length > 0 && (
        <section className={styles.section}>
          <h3>Artifacts</h3>
          <Artifacts artifacts={status.artifacts} />
        </section>
      )}

      {!logFirst && logSection}
    </aside>
  );
}
