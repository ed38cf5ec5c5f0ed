import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useBlocker, useNavigate } from 'react-router';
import { ApiError, errorMessage } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog/ConfirmDialog';
import { EditorGraph, type EditorCanvasApi, type EditorSelection } from '../../components/Graph/EditorGraph';
import { Message } from '../../components/Message/Message';
import { shortSha } from '../../components/format';
import { checkConnection, type ProposedConnection } from '../../lib/connectionRules';
import { canRedo, canUndo, createHistory, isDirty, markSaved, record, redo, redoLabel, reset, undo, undoLabel } from '../../lib/editHistory';
import type { NodeMark } from '../../lib/graphElements';
import { diffNc, diffSummary } from '../../lib/ncDiff';
import {
  addConnection,
  addNode,
  copyNodes,
  moveNodes,
  paste,
  removeObjects,
  setFeedback,
  setRequirements,
  setTerminalValue,
  type Clipboard,
  type NcDoc,
} from '../../lib/ncEdit';
import { ncToModel, type Json, type JsonObject, type Position } from '../../lib/ncGraph';
import { unavailableNodes, type LibraryNode } from '../../lib/nodeLibrary';
import { freeOffset, freeSpot } from '../../lib/placement';
import { useNodeLibrary } from '../../queries/nodeLibrary';
import { saveBlob, safeFileName, usePublish } from '../../queries/workflowFile';
import { ConflictView } from './ConflictView';
import { Inspector } from './Inspector';
import { Palette } from './Palette';
import { PublishDialog } from './PublishDialog';
import { useIncrementalModel } from './useIncrementalModel';
import styles from './WorkflowEdit.module.css';

const EMPTY: EditorSelection = { nodes: new Set(), edges: new Set() };
/** What Ctrl+C took, for Ctrl+V in this tab (also into another workflow's editor). */
let clipboard: Clipboard | null = null;

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) || !!target.closest('dialog');
}

function counted(n: number, word: string): string {
  return `${n.toString()} ${word}${n === 1 ? '' : 's'}`;
}

export interface EditorProps {
  /** null: a new workflow, published with a name. */
  workflowId: string | null;
  name: string;
  /** The document the edit starts from, and its revision (null for a new workflow). */
  initialDoc: NcDoc;
  baseRevision: string | null;
}

export function Editor({ workflowId, name, initialDoc, baseRevision: initialBase }: EditorProps) {
  const navigate = useNavigate();
  const [history, setHistory] = useState(() => createHistory<NcDoc>(initialDoc));
  const [base, setBase] = useState<{ doc: NcDoc; revision: string | null }>({ doc: initialDoc, revision: initialBase });
  const doc = history.present;
  const model = useIncrementalModel(doc);
  const [selection, setSelection] = useState<EditorSelection>(EMPTY);
  const [feedback, setFeedbackMode] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  const [publishOpen, setPublishOpen] = useState(false);
  const [conflict, setConflict] = useState<{ message: string } | null>(null);
  const [comparing, setComparing] = useState(false);
  const [published, setPublished] = useState<{ revision: string; id: number } | null>(null);
  // Set just before the editor itself navigates after a publish (the blocker must not stop that).
  const leaving = useRef(false);
  const canvas = useRef<EditorCanvasApi | null>(null);
  const [reveal, setReveal] = useState<{ ids: string[] } | null>(null);
  const pasteCount = useRef(0);
  const library = useNodeLibrary();
  const publish = usePublish(workflowId);
  const dirty = workflowId ? isDirty(history) : Object.keys(doc).length > 0 && isDirty(history);

  const docRef = useRef(doc);
  const modelRef = useRef(model);
  useEffect(() => {
    docRef.current = doc;
    modelRef.current = model;
  }, [doc, model]);

  const edit = useCallback((label: string, change: (doc: NcDoc) => NcDoc) => {
    setHistory((h) => record(h, label, change(h.present)));
  }, []);

  const marks = useMemo(() => {
    if (library.data?.source !== 'runners') return null;
    const missing = unavailableNodes(model.nodes, library.data.nodes);
    return missing.size > 0 ? new Map<string, NodeMark>([...missing].map((id) => [id, 'unavailable'])) : null;
  }, [library.data, model.nodes]);

  const check = useCallback((c: ProposedConnection) => checkConnection(model, c), [model]);

  const onMoveNodes = useCallback(
    (moves: Map<string, Position>) => edit(moves.size === 1 ? `move ${[...moves.keys()][0]}` : `move ${counted(moves.size, 'node')}`, (d) => moveNodes(d, moves)),
    [edit],
  );
  const onConnect = useCallback(
    (c: ProposedConnection) => {
      setRefused(null);
      edit(`connect ${c.source}.${c.sourceHandle} → ${c.target}.${c.targetHandle}`, (d) => addConnection(d, c).doc);
    },
    [edit],
  );
  const addFromPalette = useCallback(
    (node: LibraryNode, position?: Position) => {
      const wanted = position ?? canvas.current?.centre() ?? { x: 0, y: 0 };
      const at = freeSpot(modelRef.current, wanted, node.terminals.filter((t) => t.in).length, node.terminals.filter((t) => !t.in).length);
      const { doc: next, id } = addNode(docRef.current, node, at);
      setHistory((h) => record(h, `add ${node.path.join('/')}`, next));
      setSelection({ nodes: new Set([id]), edges: new Set() });
      setReveal({ ids: [id] });
    },
    [],
  );
  const onDropNode = useCallback(
    (path: string, position: Position) => {
      const node = library.data?.nodes.find((n) => n.path.join('/') === path);
      if (node) addFromPalette(node, position);
    },
    [library.data, addFromPalette],
  );

  const deleteSelection = useCallback(() => {
    const ids = [...selection.nodes, ...selection.edges];
    if (ids.length === 0) return;
    const what =
      selection.nodes.size > 0
        ? counted(selection.nodes.size, 'node') + (selection.edges.size ? ` and ${counted(selection.edges.size, 'connection')}` : '')
        : counted(selection.edges.size, 'connection');
    edit(`delete ${what}`, (d) => removeObjects(d, ids));
    setSelection(EMPTY);
  }, [edit, selection]);

  const doUndo = useCallback(() => setHistory(undo), []);
  const doRedo = useCallback(() => setHistory(redo), []);

  // Keyboard: Delete, Ctrl+Z / Ctrl+Shift+Z (and Ctrl+Y), Ctrl+C / Ctrl+V, unless typing in a field.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTyping(event.target)) return;
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      if ((event.key === 'Delete' || event.key === 'Backspace') && !mod) {
        event.preventDefault();
        deleteSelection();
      } else if (mod && key === 'z') {
        event.preventDefault();
        if (event.shiftKey) doRedo();
        else doUndo();
      } else if (mod && key === 'y') {
        event.preventDefault();
        doRedo();
      } else if (mod && key === 'c' && selection.nodes.size > 0) {
        clipboard = copyNodes(docRef.current, selection.nodes);
        pasteCount.current = 0;
      } else if (mod && key === 'v' && clipboard && clipboard.nodes.length > 0) {
        event.preventDefault();
        pasteCount.current += 1;
        const shift = 40 * pasteCount.current;
        const clip = clipboard;
        const placed = ncToModel(Object.fromEntries(clip.nodes.map((n) => [String(n.uniquename), n])));
        const offset = freeOffset(
          modelRef.current,
          placed.nodes.map((n) => ({ pos: n.pos ?? { x: 0, y: 0 }, inputs: n.inputs.length, outputs: n.outputs.length })),
          { x: shift, y: shift },
        );
        const { doc: next, ids } = paste(docRef.current, clip, offset);
        setHistory((h) => record(h, `paste ${counted(ids.length, 'node')}`, next));
        setSelection({ nodes: new Set(ids), edges: new Set() });
        setReveal({ ids });
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [deleteSelection, doRedo, doUndo, selection.nodes]);

  // Leaving with unsaved changes: the router's blocker for links inside the app, beforeunload for the tab.
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) => !leaving.current && dirty && currentLocation.pathname !== nextLocation.pathname,
  );
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = '';
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const localDiff = useMemo(() => diffNc(base.doc, doc), [base.doc, doc]);

  const doPublish = (message: string, newName: string, onto?: string) => {
    const sent = doc;
    publish.mutate(
      workflowId
        ? { workflow: sent, message, ...(onto ?? base.revision ? { base_revision: onto ?? base.revision! } : {}) }
        : { workflow: sent, message, name: newName },
      {
        onSuccess: (answer) => {
          setPublishOpen(false);
          setConflict(null);
          setComparing(false);
          setHistory((h) => markSaved(h, sent));
          setBase({ doc: sent, revision: answer.revision });
          setPublished({ revision: answer.revision, id: answer.id });
          if (!workflowId) {
            leaving.current = true;
            void navigate(`/workflows/${answer.id.toString()}/edit`, { replace: true });
          }
        },
        onError: (error) => {
          if (error instanceof ApiError && error.status === 409) {
            setPublishOpen(false);
            setConflict({ message });
          }
        },
      },
    );
  };

  const selectedNode = selection.nodes.size === 1 && selection.edges.size === 0 ? (model.nodes.find((n) => selection.nodes.has(n.id)) ?? null) : null;
  const selectedEdge = selection.edges.size === 1 && selection.nodes.size === 0 ? (model.edges.find((e) => selection.edges.has(e.id)) ?? null) : null;
  const onValue = useCallback((node: string, terminal: string, value: Json) => edit(`set ${node}.${terminal}`, (d) => setTerminalValue(d, node, terminal, value)), [edit]);
  const onRequirements = useCallback((node: string, r: JsonObject) => edit(`requirements of ${node}`, (d) => setRequirements(d, node, r)), [edit]);
  const onFeedback = useCallback((id: string, on: boolean) => edit(`${on ? 'feedback' : 'ordinary'} connection ${id}`, (d) => setFeedback(d, id, on)), [edit]);

  const toolbar = (
    <div className={styles.canvasToolbar}>
      <label title="A feedback connection carries the last run’s value and may close a loop">
        <input type="checkbox" checked={feedback} onChange={(e) => setFeedbackMode(e.target.checked)} /> New connections are feedback
      </label>
    </div>
  );

  return (
    <div className={styles.page}>
      <div className={styles.header}>
        <div>
          <h1 className={styles.title}>
            {workflowId ? `Edit ${name}` : 'New workflow'}
            {dirty ? (
              <span className={styles.dirty} data-testid="unsaved" title={diffSummary(localDiff)}>
                ● Unsaved changes
              </span>
            ) : (
              <span className={styles.clean} data-testid="saved">
                ✓ {base.revision ? 'Published' : 'Nothing to publish yet'}
              </span>
            )}
          </h1>
          <p className="muted">
            {base.revision ? (
              <>
                Editing from revision <span className="mono" data-testid="base-revision">{shortSha(base.revision)}</span> ·{' '}
              </>
            ) : null}
            {counted(model.nodes.length, 'node')}, {counted(model.edges.length, 'connection')}
            {dirty && ` · ${diffSummary(localDiff)}`}
          </p>
        </div>
        <div className={styles.actions}>
          <button type="button" onClick={doUndo} disabled={!canUndo(history)} title={canUndo(history) ? `Undo ${undoLabel(history) ?? ''} (Ctrl+Z)` : 'Nothing to undo'}>
            Undo
          </button>
          <button type="button" onClick={doRedo} disabled={!canRedo(history)} title={canRedo(history) ? `Redo ${redoLabel(history) ?? ''} (Ctrl+Shift+Z)` : 'Nothing to redo'}>
            Redo
          </button>
          <button type="button" onClick={() => saveBlob(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }), `${safeFileName(name || 'workflow')}-edited.nc`)}>
            Download .nc
          </button>
          {workflowId && (
            <Link className="button" to={`/workflows/${workflowId}/history`}>
              History
            </Link>
          )}
          <button type="button" className="primary" onClick={() => setPublishOpen(true)} disabled={!dirty || model.nodes.length === 0}>
            Publish…
          </button>
        </div>
      </div>

      {published && !dirty && (
        <Message kind="success">
          Published revision <span className="mono">{shortSha(published.revision)}</span>.{' '}
          <Link to={`/workflows/${published.id.toString()}`}>Open it to execute</Link> ·{' '}
          <Link to={`/workflows/${published.id.toString()}/history`}>see the history</Link>
        </Message>
      )}
      {model.problems.length > 0 && <Message kind="info">Some connections cannot be drawn: {model.problems.slice(0, 3).join('; ')}</Message>}
      {conflict && workflowId && (
        <ConflictView
          workflowId={workflowId}
          base={base}
          mine={doc}
          comparing={comparing}
          onCompare={setComparing}
          busy={publish.isPending}
          error={publish.error instanceof ApiError && publish.error.status === 409 ? null : publish.error}
          onPublishOnTop={(latest) => doPublish(conflict.message || 'Update', '', latest)}
          onTakeLatest={(latestDoc, latest) => {
            setHistory((h) => reset(h, latestDoc));
            setBase({ doc: latestDoc, revision: latest });
            setConflict(null);
            setComparing(false);
          }}
          onDismiss={() => {
            setConflict(null);
            setComparing(false);
          }}
        />
      )}

      <div className={styles.body}>
        <Palette library={library.data} loading={library.isPending} onAdd={addFromPalette} />
        <div className={styles.canvasColumn}>
          <EditorGraph
            model={model}
            selection={selection}
            onSelectionChange={setSelection}
            onMoveNodes={onMoveNodes}
            onConnect={onConnect}
            check={check}
            feedback={feedback}
            onRefused={setRefused}
            onDropNode={onDropNode}
            marks={marks}
            toolbar={toolbar}
            apiRef={canvas}
            reveal={reveal}
            label={`Editor of ${name || 'the new workflow'}`}
          />
          <div className={styles.statusBar}>
            {refused ? (
              <span className={styles.refused} role="alert" data-testid="refused">
                Not connected: {refused}
              </span>
            ) : (
              <span className="muted">
                Drag from an output (right) to an input (left) to connect · click or Shift-drag to select · Delete removes ·
                Ctrl+Z / Ctrl+Shift+Z undo and redo · Ctrl+C / Ctrl+V copy and paste
              </span>
            )}
          </div>
        </div>
        {(selectedNode || selectedEdge) && (
          <Inspector
            key={selectedNode?.id ?? selectedEdge?.id}
            model={model}
            node={selectedNode}
            edge={selectedEdge}
            onValue={onValue}
            onRequirements={onRequirements}
            onFeedback={onFeedback}
            onDelete={deleteSelection}
            onClose={() => setSelection(EMPTY)}
          />
        )}
      </div>

      <PublishDialog
        open={publishOpen}
        isNew={!workflowId}
        summary={workflowId ? `${diffSummary(localDiff)} since revision ${shortSha(base.revision ?? '')}.` : counted(model.nodes.length, 'node')}
        busy={publish.isPending}
        error={publishOpen ? publish.error : null}
        onPublish={(message, newName) => doPublish(message, newName)}
        onClose={() => setPublishOpen(false)}
      />
      <ConfirmDialog
        open={blocker.state === 'blocked'}
        title="Leave without publishing?"
        confirmLabel="Leave and lose the changes"
        dismissLabel="Stay"
        onConfirm={() => blocker.proceed?.()}
        onCancel={() => blocker.reset?.()}
      >
        <p>
          This workflow has unpublished changes ({diffSummary(localDiff)}). They are only in this page: leaving drops them.
        </p>
      </ConfirmDialog>
      {publish.error && !publishOpen && !conflict ? <Message>{errorMessage(publish.error)}</Message> : null}
    </div>
  );
}
