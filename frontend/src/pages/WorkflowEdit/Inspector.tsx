import { useId, useState, type FormEvent } from 'react';
import type { EdgeModel, GraphModel, Json, JsonObject, NodeModel, TerminalModel } from '../../lib/ncGraph';
import { initialText, parseField, valueKind } from '../../lib/overrideValue';
import { summarizeValue } from '../../lib/valueSummary';
import styles from './WorkflowEdit.module.css';

const EXECUTORS = ['local', 'shell', 'container', 'slurm', 'kubernetes'];

/** One terminal's saved value, edited by its dtype; the edit is applied on Enter or when the field is left. */
function ValueField({ node, terminal, onChange }: { node: NodeModel; terminal: TerminalModel; onChange: (value: Json) => void }) {
  const id = useId();
  const kind = valueKind(terminal.value, terminal.dtype);
  const saved = initialText(terminal.value, kind);
  const [text, setText] = useState(saved);
  const parsed = parseField(text, kind);
  const apply = (next = text) => {
    const p = parseField(next, kind);
    if (p.ok && JSON.stringify(p.value) !== JSON.stringify(terminal.value)) onChange(p.value as Json);
  };
  const label = `${terminal.name}${terminal.dtype ? ` (${terminal.dtype})` : ''}`;
  return (
    <div className={styles.field}>
      <label htmlFor={id}>{label}</label>
      {kind === 'boolean' ? (
        <input
          id={id}
          type="checkbox"
          checked={text === 'true'}
          data-terminal={terminal.name}
          onChange={(e) => {
            const next = e.target.checked ? 'true' : 'false';
            setText(next);
            apply(next);
          }}
        />
      ) : kind === 'json' ? (
        <textarea
          id={id}
          rows={2}
          value={text}
          spellCheck={false}
          aria-invalid={!parsed.ok}
          data-terminal={terminal.name}
          onChange={(e) => setText(e.target.value)}
          onBlur={() => apply()}
        />
      ) : (
        <input
          id={id}
          type="text"
          inputMode={kind === 'text' ? 'text' : kind === 'integer' ? 'numeric' : 'decimal'}
          value={text}
          spellCheck={false}
          aria-invalid={!parsed.ok}
          data-terminal={terminal.name}
          onChange={(e) => setText(e.target.value)}
          onBlur={() => apply()}
          onKeyDown={(e) => {
            if (e.key === 'Enter') apply();
          }}
        />
      )}
      <span className={styles.hint}>
        {parsed.ok ? `${kind === 'json' ? 'a list or any JSON value' : kind}${node.inputs.length === 0 ? ' · the value this node emits' : ' · used when nothing is connected'}` : <span className={styles.error}>Expected {parsed.error}.</span>}
      </span>
    </div>
  );
}

function text(value: Json | undefined): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** A node's requirements (docs/nodeworks-format.md); keys the form does not show (env, image, …) are kept. */
function RequirementsForm({ node, onChange }: { node: NodeModel; onChange: (requirements: JsonObject) => void }) {
  const raw = node.raw.requirements;
  const current: JsonObject = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {};
  const [tags, setTags] = useState(Array.isArray(current.tags) ? current.tags.join(', ') : '');
  const [executor, setExecutor] = useState(text(current.executor));
  const [environment, setEnvironment] = useState(text(current.environment));
  const [cpus, setCpus] = useState(text(current.cpus));
  const [memory, setMemory] = useState(text(current.memory_mb));
  const [gpus, setGpus] = useState(text(current.gpus));
  const [walltime, setWalltime] = useState(text(current.walltime_s));
  const [error, setError] = useState<string | null>(null);
  const ids = { tags: useId(), executor: useId(), environment: useId(), cpus: useId(), memory: useId(), gpus: useId(), walltime: useId() };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next: JsonObject = { ...current };
    const tagList = tags.split(',').map((t) => t.trim()).filter(Boolean);
    const bad = tagList.find((t) => !/^[A-Za-z0-9_.:-]{1,64}$/.test(t));
    if (bad) return setError(`Tag “${bad}”: 1–64 of A–Z a–z 0–9 _ . : -`);
    if (tagList.length) next.tags = tagList;
    else delete next.tags;
    if (executor) next.executor = executor;
    else delete next.executor;
    if (environment.trim()) next.environment = environment.trim();
    else delete next.environment;
    for (const [key, value, what] of [['cpus', cpus, 'CPUs'], ['memory_mb', memory, 'Memory'], ['gpus', gpus, 'GPUs'], ['walltime_s', walltime, 'Wall time']] as const) {
      const v = value.trim();
      if (!v) {
        delete next[key];
        continue;
      }
      if (!/^\d+$/.test(v)) return setError(`${what}: a whole number of 0 or more.`);
      next[key] = Number.parseInt(v, 10);
    }
    setError(null);
    onChange(next);
  };

  return (
    <form className={styles.requirements} onSubmit={submit} aria-label="Requirements">
      <div className={styles.field}>
        <label htmlFor={ids.tags}>Tags (all needed on the runner)</label>
        <input id={ids.tags} value={tags} onChange={(e) => setTags(e.target.value)} placeholder="gpu, big-memory" />
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.executor}>Executor</label>
        <select id={ids.executor} value={executor} onChange={(e) => setExecutor(e.target.value)}>
          <option value="">the workflow’s default</option>
          {EXECUTORS.map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
        </select>
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.environment}>Environment</label>
        <input id={ids.environment} value={environment} onChange={(e) => setEnvironment(e.target.value)} placeholder="conda env or module line" />
      </div>
      <div className={styles.row3}>
        <div className={styles.field}>
          <label htmlFor={ids.cpus}>CPUs</label>
          <input id={ids.cpus} inputMode="numeric" value={cpus} onChange={(e) => setCpus(e.target.value)} />
        </div>
        <div className={styles.field}>
          <label htmlFor={ids.memory}>Memory (MB)</label>
          <input id={ids.memory} inputMode="numeric" value={memory} onChange={(e) => setMemory(e.target.value)} />
        </div>
        <div className={styles.field}>
          <label htmlFor={ids.gpus}>GPUs</label>
          <input id={ids.gpus} inputMode="numeric" value={gpus} onChange={(e) => setGpus(e.target.value)} />
        </div>
      </div>
      <div className={styles.field}>
        <label htmlFor={ids.walltime}>Wall time (seconds)</label>
        <input id={ids.walltime} inputMode="numeric" value={walltime} onChange={(e) => setWalltime(e.target.value)} />
      </div>
      {error && <p className={styles.error} role="alert">{error}</p>}
      <button type="submit">Apply requirements</button>
    </form>
  );
}

export interface InspectorProps {
  model: GraphModel;
  node: NodeModel | null;
  edge: EdgeModel | null;
  onValue: (node: string, terminal: string, value: Json) => void;
  onRequirements: (node: string, requirements: JsonObject) => void;
  onFeedback: (edge: string, feedback: boolean) => void;
  onDelete: () => void;
  onClose: () => void;
}

/** The side panel: the selected node's values and requirements, or the selected connection. */
export function Inspector({ model, node, edge, onValue, onRequirements, onFeedback, onDelete, onClose }: InspectorProps) {
  if (edge) {
    const from = model.nodes.find((n) => n.id === edge.source);
    const to = model.nodes.find((n) => n.id === edge.target);
    return (
      <aside className={styles.inspector} aria-label="Selected connection" data-testid="inspector">
        <div className={styles.inspectorHead}>
          <h2 className={styles.panelTitle}>Connection</h2>
          <button type="button" onClick={onClose} aria-label="Close the panel">×</button>
        </div>
        <p>
          {from?.name ?? edge.source}.<b>{edge.sourceHandle}</b> → {to?.name ?? edge.target}.<b>{edge.targetHandle}</b>
        </p>
        <label className={styles.check}>
          <input type="checkbox" checked={edge.feedback} onChange={(e) => onFeedback(edge.id, e.target.checked)} />
          Feedback: carries the last run’s value and does not order the tasks
        </label>
        <button type="button" className="danger" onClick={onDelete}>
          Delete the connection
        </button>
      </aside>
    );
  }
  if (!node) return null;
  const connected = new Set(model.edges.filter((e) => e.target === node.id).map((e) => e.targetHandle));
  const constant = node.inputs.length === 0;
  return (
    <aside className={styles.inspector} aria-label={`Node ${node.name}`} data-testid="inspector">
      <div className={styles.inspectorHead}>
        <h2 className={styles.panelTitle}>{node.name}</h2>
        <button type="button" onClick={onClose} aria-label="Close the panel">×</button>
      </div>
      <p className="muted">
        <span className="mono">{node.id}</span> · {node.path.join(' / ')}
      </p>
      <h3 className={styles.subTitle}>Values</h3>
      {node.inputs.map((t) =>
        connected.has(t.name) ? (
          <p key={t.name} className={styles.connected}>
            <b>{t.name}</b>: connected (the value comes from upstream)
          </p>
        ) : (
          <ValueField key={`${t.name}\u0000${JSON.stringify(t.value)}`} node={node} terminal={t} onChange={(v) => onValue(node.id, t.name, v)} />
        ),
      )}
      {constant
        ? node.outputs.map((t) => (
            <ValueField key={`${t.name}\u0000${JSON.stringify(t.value)}`} node={node} terminal={t} onChange={(v) => onValue(node.id, t.name, v)} />
          ))
        : node.outputs.map((t) => (
            <p key={t.name} className={styles.connected}>
              <b>{t.name}</b> (output): last computed {summarizeValue(t.value).text}
            </p>
          ))}
      <h3 className={styles.subTitle}>Requirements</h3>
      <RequirementsForm key={JSON.stringify(node.raw.requirements ?? null)} node={node} onChange={(r) => onRequirements(node.id, r)} />
      <button type="button" className="danger" onClick={onDelete}>
        Delete the node
      </button>
    </aside>
  );
}
