import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { errorMessage } from '../../api/client';
import { Message } from '../../components/Message/Message';
import { ncToModel, overridableTerminals, type OverridableTerminal } from '../../lib/ncGraph';
import { initialText, isChanged, parseField, valueKind, type ValueKind } from '../../lib/overrideValue';
import { summarizeValue } from '../../lib/valueSummary';
import { useExecute, useHistory, useWorkflowFile } from '../../queries/workflowFile';
import styles from './WorkflowPage.module.css';

/** The form lists at most this many terminals at once; a filter finds the others (parameter sweeps on huge graphs). */
const MAX_FIELDS = 150;

interface Field {
  terminal: OverridableTerminal;
  kind: ValueKind;
}

function OverrideField({ field, text, onChange, showId }: { field: Field; text: string; onChange: (text: string) => void; showId: boolean }) {
  const id = useId();
  const { terminal, kind } = field;
  const parsed = parseField(text, kind);
  const changed = isChanged(terminal.terminal.value, parsed);
  const saved = summarizeValue(terminal.terminal.value).text;
  const label = `${terminal.node.name} · ${terminal.terminal.name}`;
  return (
    <div className={`${styles.field} ${changed ? styles.changed : ''}`}>
      <label htmlFor={id}>
        {label}
        {showId && <span className="muted"> ({terminal.node.id})</span>}
      </label>
      {kind === 'boolean' ? (
        <select id={id} value={text} onChange={(e) => onChange(e.target.value)} data-key={terminal.key}>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : kind === 'json' ? (
        <textarea id={id} rows={2} value={text} onChange={(e) => onChange(e.target.value)} data-key={terminal.key} aria-invalid={!parsed.ok} spellCheck={false} />
      ) : (
        <input
          id={id}
          type="text"
          inputMode={kind === 'text' ? 'text' : kind === 'integer' ? 'numeric' : 'decimal'}
          value={text}
          onChange={(e) => onChange(e.target.value)}
          data-key={terminal.key}
          aria-invalid={!parsed.ok}
          spellCheck={false}
        />
      )}
      <span className={styles.fieldHint}>
        {!parsed.ok ? (
          <span className={styles.fieldError}>Expected {parsed.error}.</span>
        ) : (
          <>
            {kind}
            {terminal.terminal.dtype ? ` (${terminal.terminal.dtype})` : ''}, saved {saved}
            {terminal.kind === 'constant' ? ' · a constant node' : ''}
          </>
        )}
      </span>
    </div>
  );
}

export interface ExecuteDialogProps {
  open: boolean;
  workflowId: string;
  /** The revision shown on the page (the default choice); null for the latest. */
  revision: string | null;
  onClose: () => void;
  onStarted: (runId: number) => void;
}

/** Execute a revision, optionally overriding unconnected inputs and constants (a parameter sweep without curl). */
export function ExecuteDialog({ open, workflowId, revision, onClose, onStarted }: ExecuteDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [chosen, setChosen] = useState<string>(revision ?? '');
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [filter, setFilter] = useState('');
  const history = useHistory(workflowId, open);
  const file = useWorkflowFile(workflowId, { revision: chosen || null });
  const execute = useExecute(workflowId);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    else if (!open && dialog.open) dialog.close();
  }, [open]);

  const fields: Field[] = useMemo(() => {
    if (!file.data) return [];
    return overridableTerminals(ncToModel(file.data.nc)).map((terminal) => ({
      terminal,
      kind: valueKind(terminal.terminal.value, terminal.terminal.dtype),
    }));
  }, [file.data]);

  // Two nodes with one name ("Float", "Float") are told apart by their uniquename.
  const repeatedNames = useMemo(() => {
    const seen = new Map<string, Set<string>>();
    for (const f of fields) seen.set(f.terminal.node.name, (seen.get(f.terminal.node.name) ?? new Set()).add(f.terminal.node.id));
    return new Set([...seen].filter(([, ids]) => ids.size > 1).map(([name]) => name));
  }, [fields]);
  const q = filter.trim().toLowerCase();
  const shown = (q ? fields.filter((f) => `${f.terminal.node.name} ${f.terminal.key}`.toLowerCase().includes(q)) : fields).slice(0, MAX_FIELDS);
  const textOf = (f: Field) => texts[f.terminal.key] ?? initialText(f.terminal.terminal.value, f.kind);
  const invalid = fields.filter((f) => f.terminal.key in texts && !parseField(textOf(f), f.kind).ok);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (invalid.length) return;
    const inputs: Record<string, unknown> = {};
    for (const f of fields) {
      if (!(f.terminal.key in texts)) continue;
      const parsed = parseField(texts[f.terminal.key], f.kind);
      if (parsed.ok && isChanged(f.terminal.terminal.value, parsed)) inputs[f.terminal.key] = parsed.value;
    }
    execute.mutate(
      { ...(chosen ? { revision: chosen } : {}), inputs },
      {
        onSuccess: (answer) => {
          setTexts({});
          onStarted(answer.run.id);
        },
      },
    );
  }

  const changedCount = fields.filter((f) => f.terminal.key in texts && isChanged(f.terminal.terminal.value, parseField(textOf(f), f.kind))).length;

  return (
    <dialog
      ref={ref}
      className={styles.dialog}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        if (!execute.isPending) onClose();
      }}
      data-testid="execute-dialog"
    >
      <form onSubmit={submit}>
        <h2 id={titleId}>Execute the workflow</h2>
        <div className={styles.field}>
          <label htmlFor={`${titleId}-rev`}>Revision</label>
          <select
            id={`${titleId}-rev`}
            value={chosen}
            onChange={(e) => {
              setChosen(e.target.value);
              setTexts({});
            }}
          >
            <option value="">latest{history.data?.[0] ? ` (${history.data[0].revision.slice(0, 7)}: ${history.data[0].message})` : ''}</option>
            {history.data?.slice(1).map((r) => (
              <option key={r.revision} value={r.revision}>
                {r.revision.slice(0, 7)}: {r.message} ({r.author}, {new Date(r.time).toLocaleString()})
              </option>
            ))}
            {chosen && !history.data?.some((r) => r.revision === chosen) && <option value={chosen}>{chosen.slice(0, 7)}</option>}
          </select>
        </div>

        <h3 className={styles.dialogSubtitle}>Input overrides</h3>
        <p className="muted" style={{ marginTop: 0 }}>
          Change a value to use it for this run only; the saved workflow stays as it is. Connected inputs get their values from upstream and are not listed.
        </p>
        {fields.length > MAX_FIELDS && (
          <input
            type="search"
            className={styles.filter}
            placeholder={`Filter ${fields.length.toString()} inputs by node or terminal`}
            aria-label="Filter the inputs"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
          />
        )}
        <div className={styles.fields}>
          {file.isPending && <p className="muted">Loading the revision…</p>}
          {file.error && <Message>{errorMessage(file.error)}</Message>}
          {file.data && fields.length === 0 && <p className="muted">This revision has no input to override.</p>}
          {shown.map((f) => (
            <OverrideField key={f.terminal.key} field={f} showId={repeatedNames.has(f.terminal.node.name)} text={textOf(f)} onChange={(t) => setTexts((old) => ({ ...old, [f.terminal.key]: t }))} />
          ))}
          {fields.length > shown.length && !q && <p className="muted">{(fields.length - shown.length).toString()} more: use the filter.</p>}
        </div>

        {execute.error && <Message testId="execute-error">{errorMessage(execute.error)}</Message>}
        <div className={styles.dialogButtons}>
          <span className="muted">{changedCount ? `${changedCount.toString()} value(s) overridden` : 'No override: the saved values'}</span>
          <button type="button" onClick={onClose} disabled={execute.isPending}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={execute.isPending || invalid.length > 0 || !file.data}>
            {execute.isPending ? 'Starting…' : 'Execute'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
