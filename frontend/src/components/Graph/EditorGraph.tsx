import '@xyflow/react/dist/style.css';
import { memo, useCallback, useEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from 'react';
import {
  Background,
  ConnectionMode,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type EdgeTypes,
  type FinalConnectionState,
  type IsValidConnection,
  type NodeChange,
  type NodeTypes,
} from '@xyflow/react';
import type { ConnectionCheck, ProposedConnection } from '../../lib/connectionRules';
import { GraphElementCache, type GraphNode, type NodeMark } from '../../lib/graphElements';
import type { GraphModel, Position } from '../../lib/ncGraph';
import { CanvasMiniMap } from './CanvasMiniMap';
import { FeedbackEdge } from './FeedbackEdge';
import { NwNode } from './NwNode';
import { NODE_WIDTH, nodeHeight } from '../../lib/layout/nodeSize';
import { NodeSearch } from './WorkflowGraph';
import styles from './Graph.module.css';

/** The MIME type a palette entry is dragged with; its data is the node's path joined by "/". */
export const PALETTE_MIME = 'application/x-nodeworks-node';

export interface EditorSelection {
  nodes: ReadonlySet<string>;
  edges: ReadonlySet<string>;
}

export interface EditorCanvasApi {
  /** The canvas point at the middle of what is on screen (where a clicked palette entry lands). */
  centre: () => Position;
}

export interface EditorGraphProps {
  model: GraphModel;
  selection: EditorSelection;
  onSelectionChange: (selection: EditorSelection) => void;
  /** A drag ended: the new positions of the nodes it moved (one undo step). */
  onMoveNodes: (moves: Map<string, Position>) => void;
  /** A connection dropped on a handle that the rules accept. */
  onConnect: (connection: ProposedConnection) => void;
  /** The rules (lib/connectionRules), asked while a connection is dragged. */
  check: (connection: ProposedConnection) => ConnectionCheck;
  /** New connections are feedback connections (they may close a loop). */
  feedback: boolean;
  /** Why the last connection was refused (null: none), shown until the next attempt. */
  onRefused: (reason: string | null) => void;
  /** A palette entry dropped on the canvas at a canvas position. */
  onDropNode: (path: string, position: Position) => void;
  marks?: ReadonlyMap<string, NodeMark> | null;
  toolbar?: ReactNode;
  apiRef?: RefObject<EditorCanvasApi | null>;
  label?: string;
  /** Nodes just added or pasted: the view pans to the first when it is outside (a new object each time). */
  reveal?: { ids: string[] } | null;
}

const nodeTypes: NodeTypes = { nwNode: NwNode };
const edgeTypes: EdgeTypes = { feedback: FeedbackEdge };
const FIT_VIEW = { padding: 0.2, maxZoom: 1.2, minZoom: 0.02, includeHiddenNodes: true } as const;
const CANVAS_MINIMAP_NODES = 1000;
const MINIMAP_MIN_NODES = 25;

/**
 * The editing canvas: drag, select (click, Ctrl/⌘-click, Shift-drag a box), connect by dragging between
 * handles with the rules checked live, drop palette entries. It owns no document: every edit goes up as a
 * callback, and the page records it (undo/redo, unsaved changes).
 *
 * Dragging stays cheap on big graphs: the positions under the pointer live in a small overlay map, and only
 * the dragged nodes get new objects each frame; the document changes once, when the drag ends.
 */
export function EditorGraph(props: EditorGraphProps) {
  return (
    <ReactFlowProvider>
      <EditorCanvas {...props} />
    </ReactFlowProvider>
  );
}

function toProposed(c: Connection | { source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null }, feedback: boolean): ProposedConnection {
  return { source: c.source, sourceHandle: c.sourceHandle ?? '', target: c.target, targetHandle: c.targetHandle ?? '', feedback };
}

const EditorCanvas = memo(function EditorCanvas(props: EditorGraphProps) {
  const { model, selection, onSelectionChange, onMoveNodes, onConnect, check, feedback, onRefused, onDropNode, marks, toolbar, apiRef, label, reveal } = props;
  const [cache] = useState(() => new GraphElementCache());
  const flow = useReactFlow();
  const base = useMemo(() => cache.buildNodes(model, null, null, selection.nodes, marks), [cache, model, selection.nodes, marks]);
  const edges = useMemo(() => cache.buildEdges(model, null, selection.edges), [cache, model, selection.edges]);
  const [dragged, setDragged] = useState<ReadonlyMap<string, Position>>(new Map());
  const nodes = useMemo(
    () => (dragged.size === 0 ? base : base.map((n) => (dragged.has(n.id) ? { ...n, position: dragged.get(n.id)!, dragging: true } : n))),
    [base, dragged],
  );

  const box = useRef<HTMLDivElement>(null);
  // The whole graph is fitted when the canvas opens, and again whenever the canvas changes size (the page's
  // layout settling, the window resized) until the user first does anything: from then on the view is theirs,
  // and edits never move it under their hands.
  const interacted = useRef(false);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let frame = requestAnimationFrame(() => void flow.fitView(FIT_VIEW));
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        if (!interacted.current) void flow.fitView(FIT_VIEW);
      });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
    };
  }, [flow]);
  const onMove = useCallback((event: MouseEvent | TouchEvent | null) => {
    if (event) interacted.current = true; // null: a programmatic move (fit view, reveal)
  }, []);
  useEffect(() => {
    if (!apiRef) return;
    apiRef.current = {
      centre: () => {
        const rect = box.current?.getBoundingClientRect();
        if (!rect) return { x: 0, y: 0 };
        return flow.screenToFlowPosition({ x: rect.left + rect.width / 2 - 110, y: rect.top + rect.height / 2 - 50 });
      },
    };
    return () => {
      apiRef.current = null;
    };
  }, [apiRef, flow]);

  // Pan to a node just added or pasted when it landed outside the view (once per request).
  const revealed = useRef<{ ids: string[] } | null>(null);
  useEffect(() => {
    if (!reveal || revealed.current === reveal) return;
    revealed.current = reveal;
    const node = model.nodes.find((n) => n.id === reveal.ids[0]);
    const rect = box.current?.getBoundingClientRect();
    if (!node?.pos || !rect) return;
    const { x, y, zoom } = flow.getViewport();
    const h = nodeHeight(node.inputs.length, node.outputs.length);
    const left = node.pos.x * zoom + x;
    const top = node.pos.y * zoom + y;
    if (left < 0 || top < 0 || left + NODE_WIDTH * zoom > rect.width || top + h * zoom > rect.height) {
      void flow.setCenter(node.pos.x + NODE_WIDTH / 2, node.pos.y + h / 2, { zoom, duration: 200 });
    }
  }, [reveal, model, flow]);

  const onNodesChange = useCallback(
    (changes: NodeChange<GraphNode>[]) => {
      if (changes.some((c) => c.type === 'position' || c.type === 'select')) interacted.current = true;
      const moved = changes.filter((c) => c.type === 'position' && c.position && c.dragging);
      if (moved.length > 0) {
        setDragged((prev) => {
          const next = new Map(prev);
          for (const c of moved) if (c.type === 'position' && c.position) next.set(c.id, c.position);
          return next;
        });
      }
      let nextNodes: Set<string> | null = null;
      for (const change of changes) {
        if (change.type !== 'select') continue;
        nextNodes ??= new Set(selection.nodes);
        if (change.selected) nextNodes.add(change.id);
        else nextNodes.delete(change.id);
      }
      if (nextNodes) onSelectionChange({ nodes: nextNodes, edges: selection.edges });
    },
    [onSelectionChange, selection],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      let next: Set<string> | null = null;
      for (const change of changes) {
        if (change.type !== 'select') continue;
        next ??= new Set(selection.edges);
        if (change.selected) next.add(change.id);
        else next.delete(change.id);
      }
      if (next) onSelectionChange({ nodes: selection.nodes, edges: next });
    },
    [onSelectionChange, selection],
  );

  // The dragged nodes with their final positions: one move, one undo step.
  const onNodeDragStop = useCallback(
    (_event: MouseEvent | TouchEvent, _node: GraphNode, moved: GraphNode[]) => {
      setDragged(new Map());
      const moves = new Map(moved.map((n) => [n.id, n.position]));
      if (moves.size > 0) onMoveNodes(moves);
    },
    [onMoveNodes],
  );

  // The reason of the connection under the pointer, kept for the drop: set while dragging, said on a refused drop.
  const lastCheck = useRef<ConnectionCheck | null>(null);
  const isValidConnection: IsValidConnection = useCallback(
    (c) => {
      const result = check(toProposed(c, feedback));
      lastCheck.current = result;
      return result.ok;
    },
    [check, feedback],
  );
  const onConnectStart = useCallback(() => {
    interacted.current = true;
    lastCheck.current = null;
    onRefused(null);
  }, [onRefused]);
  const onConnectEnd = useCallback(
    (_event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.toHandle && !state.isValid && lastCheck.current && !lastCheck.current.ok) onRefused(lastCheck.current.reason);
    },
    [onRefused],
  );
  const connect = useCallback(
    (c: Connection) => {
      const proposed = toProposed(c, feedback);
      const result = check(proposed);
      if (result.ok) onConnect(proposed);
      else onRefused(result.reason);
    },
    [check, feedback, onConnect, onRefused],
  );

  const onDragOver = useCallback((event: React.DragEvent) => {
    if (event.dataTransfer.types.includes(PALETTE_MIME)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    }
  }, []);
  const onDrop = useCallback(
    (event: React.DragEvent) => {
      const path = event.dataTransfer.getData(PALETTE_MIME);
      if (!path) return;
      event.preventDefault();
      onDropNode(path, flow.screenToFlowPosition({ x: event.clientX - 20, y: event.clientY - 20 }));
    },
    [flow, onDropNode],
  );
  const select = useCallback((id: string | null) => onSelectionChange({ nodes: new Set(id ? [id] : []), edges: new Set() }), [onSelectionChange]);
  const onFound = useCallback(() => undefined, []);

  return (
    <div
      ref={box}
      className={`${styles.canvas} ${styles.editing} ${styles.noRunState}`}
      role="region"
      aria-label={label ?? 'Workflow editor'}
      data-testid="editor-graph"
      onDragOver={onDragOver}
      onDrop={onDrop}
    >
      <ReactFlow<GraphNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStop={onNodeDragStop}
        onMove={onMove}
        onConnect={connect}
        onConnectStart={onConnectStart}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        connectionMode={ConnectionMode.Loose}
        connectionRadius={24}
        nodesDraggable
        nodesConnectable
        elementsSelectable
        edgesFocusable
        selectNodesOnDrag={false}
        deleteKeyCode={null}
        onlyRenderVisibleElements
        minZoom={0.02}
        maxZoom={2.5}
      >
        <Background gap={24} color="#e5e7eb" />
        <Controls showInteractive={false} position="bottom-left" />
        {model.nodes.length > CANVAS_MINIMAP_NODES && (
          <Panel position="bottom-right">
            <CanvasMiniMap nodes={nodes} />
          </Panel>
        )}
        {model.nodes.length >= MINIMAP_MIN_NODES && model.nodes.length <= CANVAS_MINIMAP_NODES && (
          <MiniMap<GraphNode> pannable zoomable nodeStrokeWidth={0} position="bottom-right" ariaLabel="Overview of the graph" />
        )}
        <Panel position="top-left">
          <NodeSearch model={model} onSelect={select} onFound={onFound} />
        </Panel>
        {toolbar && <Panel position="top-right">{toolbar}</Panel>}
      </ReactFlow>
      {model.nodes.length === 0 && (
        <div className={styles.overlayMessage}>An empty workflow: drag a node from the palette, or click one to add it here.</div>
      )}
    </div>
  );
});
