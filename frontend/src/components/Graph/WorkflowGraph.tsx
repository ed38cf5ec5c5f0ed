import '@xyflow/react/dist/style.css';
import { memo, useCallback, useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  Background,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type EdgeTypes,
  type NodeChange,
  type NodeTypes,
} from '@xyflow/react';
import { GraphElementCache, type EdgeMark, type GraphNode, type NodeMark, type StatusLike } from '../../lib/graphElements';
import { NODE_WIDTH, nodeHeight } from '../../lib/layout/nodeSize';
import type { GraphModel } from '../../lib/ncGraph';
import type { PlanHighlight } from '../../lib/planHighlight';
import { stateStyle } from '../../lib/taskStates';
import { CanvasMiniMap } from './CanvasMiniMap';
import { FeedbackEdge } from './FeedbackEdge';
import { NwNode } from './NwNode';
import styles from './Graph.module.css';

export interface WorkflowGraphProps {
  /** The graph, every node with a position (see useLaidOutModel). */
  model: GraphModel;
  /** Task status by node uniquename; null when no run is shown. */
  statuses?: Record<string, StatusLike> | null;
  /** The execution plan to highlight, or null. */
  plan?: PlanHighlight | null;
  selectedId: string | null;
  onSelect: (nodeId: string | null) => void;
  /** Extra controls shown in the canvas's top-right corner (plan toggle, …). */
  toolbar?: ReactNode;
  label?: string;
  /** A diff's (or the palette's) marks on nodes and connections; see lib/graphElements. */
  marks?: ReadonlyMap<string, NodeMark> | null;
  edgeMarks?: ReadonlyMap<string, EdgeMark> | null;
}

const nodeTypes: NodeTypes = { nwNode: NwNode };
const edgeTypes: EdgeTypes = { feedback: FeedbackEdge };

const proOptions = { hideAttribution: false };
// includeHiddenNodes: fit by the declared sizes, since nodes outside the viewport are never rendered nor measured.
// The top padding keeps the search and plan panels off the first row of nodes.
const FIT_VIEW = {
  padding: { top: '64px', bottom: '24px', left: '48px', right: '48px' },
  maxZoom: 1.2,
  minZoom: 0.02,
  includeHiddenNodes: true,
} as const;
/**
 * A big graph opens at a zoom where a few hundred nodes show, not all of them at once: drawing thousands
 * of nodes is what makes opening and panning slow. The minimap and the zoom-out control show the rest.
 */
const BIG_GRAPH_NODES = 300;
const FIT_VIEW_BIG = { ...FIT_VIEW, minZoom: 0.3 } as const;
/** A diff's marks put a word above each marked node: more room at the top, under the search panel. */
const FIT_VIEW_MARKED = { ...FIT_VIEW, padding: { ...FIT_VIEW.padding, top: '96px' } } as const;
/** Above this the overview is painted on a canvas (CanvasMiniMap) instead of one SVG shape per node. */
const CANVAS_MINIMAP_NODES = 1000;
/** Below this a minimap only hides part of a graph that fits on screen anyway. */
const MINIMAP_MIN_NODES = 25;

function miniMapColour(node: GraphNode): string {
  return node.data.run ? stateStyle(node.data.run.state).colour : '#cbd5e1';
}

/**
 * The read-only canvas of a workflow: driven entirely by its props (model, statuses, plan, selection), so the
 * editing of part 2 adds handlers here without the pages knowing.
 */
export function WorkflowGraph(props: WorkflowGraphProps) {
  return (
    <ReactFlowProvider>
      <GraphCanvas {...props} />
    </ReactFlowProvider>
  );
}

const GraphCanvas = memo(function GraphCanvas({ model, statuses, plan, selectedId, onSelect, toolbar, label, marks, edgeMarks }: WorkflowGraphProps) {
  // One cache per canvas for its lifetime: it remembers last poll's node objects so unchanged ones are reused.
  const [cache] = useState(() => new GraphElementCache());
  const nodes = useMemo(() => cache.buildNodes(model, statuses, plan ?? null, selectedId, marks), [cache, model, statuses, plan, selectedId, marks]);
  const edges = useMemo(() => cache.buildEdges(model, plan ?? null, null, edgeMarks ?? null), [cache, model, plan, edgeMarks]);
  const flow = useReactFlow();

  // Fit the whole graph whenever a new model arrives (the `fitView` prop waits for every node to be
  // measured, which never happens for nodes left unrendered by onlyRenderVisibleElements).
  const userMoved = useRef(false);
  const marked = !!marks;
  useEffect(() => {
    userMoved.current = false;
    const frame = requestAnimationFrame(() => void flow.fitView(model.nodes.length > BIG_GRAPH_NODES ? FIT_VIEW_BIG : marked ? FIT_VIEW_MARKED : FIT_VIEW));
    return () => cancelAnimationFrame(frame);
  }, [flow, model, marked]);
  const big = model.nodes.length > BIG_GRAPH_NODES;

  // When the canvas changes size (the side panel opens or closes, the window is resized) the whole graph
  // is fitted again, unless the user has panned or zoomed to a place of their own.
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        if (!userMoved.current) void flow.fitView(big ? FIT_VIEW_BIG : marked ? FIT_VIEW_MARKED : FIT_VIEW);
      });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
    };
  }, [flow, big, marked]);
  // onMove, not onMoveStart: a plain click on a node starts a (motionless) gesture too.
  const onMove = useCallback((event: MouseEvent | TouchEvent | null) => {
    if (event) userMoved.current = true; // null: a programmatic move (fit view)
  }, []);
  const onFound = useCallback(() => {
    userMoved.current = true;
  }, []);

  // Selection by click or by keyboard (Enter on a focused node) both arrive as 'select' changes.
  const onNodesChange = useCallback(
    (changes: NodeChange<GraphNode>[]) => {
      for (const change of changes) {
        if (change.type !== 'select') continue;
        if (change.selected) onSelect(change.id);
        else if (change.id === selectedId && !changes.some((c) => c.type === 'select' && c.selected)) onSelect(null);
      }
    },
    [onSelect, selectedId],
  );

  return (
    <div ref={box} className={marks ? `${styles.canvas} ${styles.noRunState}` : styles.canvas} role="region" aria-label={label ?? 'Workflow graph'} data-testid="workflow-graph">
      <ReactFlow<GraphNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onPaneClick={() => onSelect(null)}
        onMove={onMove}
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        elementsSelectable
        selectNodesOnDrag={false}
        multiSelectionKeyCode={null}
        selectionKeyCode={null}
        deleteKeyCode={null}
        onlyRenderVisibleElements
        fitViewOptions={FIT_VIEW}
        minZoom={0.02}
        maxZoom={2.5}
        proOptions={proOptions}
      >
        <Background gap={24} color="#e5e7eb" />
        <Controls showInteractive={false} position="bottom-left" />
        {model.nodes.length > CANVAS_MINIMAP_NODES && (
          <Panel position="bottom-right">
            <CanvasMiniMap nodes={nodes} />
          </Panel>
        )}
        {model.nodes.length >= MINIMAP_MIN_NODES && model.nodes.length <= CANVAS_MINIMAP_NODES && (
          <MiniMap<GraphNode> pannable zoomable nodeColor={miniMapColour} nodeStrokeWidth={0} position="bottom-right" ariaLabel="Overview of the graph" />
        )}
        <Panel position="top-left">
          <NodeSearch model={model} onSelect={onSelect} onFound={onFound} />
        </Panel>
        {toolbar && <Panel position="top-right">{toolbar}</Panel>}
      </ReactFlow>
      {model.nodes.length === 0 && <div className={styles.overlayMessage}>This workflow has no nodes.</div>}
    </div>
  );
});

/** Find a node by name (or uniquename), select it and zoom to it. */
export function NodeSearch({ model, onSelect, onFound }: { model: GraphModel; onSelect: (id: string | null) => void; onFound: () => void }) {
  const flow = useReactFlow();
  const [query, setQuery] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const listId = useId();
  // A datalist of thousands of names is slow to open and useless; suggestions stop at a few hundred.
  const names = useMemo(() => [...new Set(model.nodes.map((n) => n.name))].slice(0, 300), [model]);

  const find = (event: React.FormEvent) => {
    event.preventDefault();
    const q = query.trim().toLowerCase();
    if (!q) return;
    const node =
      model.nodes.find((n) => n.name.toLowerCase() === q || n.id.toLowerCase() === q) ??
      model.nodes.find((n) => n.name.toLowerCase().includes(q) || n.id.toLowerCase().includes(q));
    if (!node || !node.pos) {
      setMessage(`No node named “${query.trim()}”.`);
      return;
    }
    setMessage(null);
    onFound();
    onSelect(node.id);
    void flow.setCenter(node.pos.x + NODE_WIDTH / 2, node.pos.y + nodeHeight(node.inputs.length, node.outputs.length) / 2, {
      zoom: Math.max(flow.getZoom(), 1.1),
      duration: 400,
    });
  };

  return (
    <form className={styles.toolbar} role="search" onSubmit={find}>
      <label className="visually-hidden" htmlFor={`${listId}-input`}>
        Find a node by name
      </label>
      <input
        id={`${listId}-input`}
        type="search"
        placeholder="Find a node by name"
        value={query}
        list={listId}
        onChange={(e) => {
          setQuery(e.target.value);
          setMessage(null);
        }}
      />
      <datalist id={listId}>
        {names.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      <button type="submit">Find</button>
      {message && (
        <span className={styles.searchMessage} role="status">
          {message}
        </span>
      )}
    </form>
  );
}
