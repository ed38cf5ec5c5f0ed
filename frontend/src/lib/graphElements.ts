/**
 * The model + a run's status → the canvas's node and edge objects, keeping every object whose look did not
 * change the SAME object across polls. @xyflow/react and the memoised node component then skip those nodes:
 * a poll of a 5,000-node run re-renders only the nodes whose state changed.
 */
import { Position, type Edge, type Node, type NodeHandle } from '@xyflow/react';
import type { GraphModel, NodeModel } from './ncGraph';
import type { PlanHighlight } from './planHighlight';
import { HANDLE_SIZE, handleTop, NODE_WIDTH, nodeHeight } from './layout/nodeSize';
import { stateWord } from './taskStates';

/** What a node shows of its task. */
export interface NodeRunView {
  state: string;
  word: string;
  /** Shown on hover: why a task waits, or the first line of its error. */
  hint: string | null;
}

export interface GraphNodeData extends Record<string, unknown> {
  node: NodeModel;
  run: NodeRunView | null;
  /** Plan highlight: the node's level, and whether it is on the critical path. */
  level: number | null;
  critical: boolean;
  /** Dimmed while the plan is highlighted and the node is not on the critical path. */
  dimmed: boolean;
  /**
   * A mark drawn on the node with its word: a diff's `added` / `removed` / `moved` / `changed`, or
   * `unavailable` (no online runner offers its path). Optional: the read-only pages leave it out.
   */
  mark?: NodeMark | null;
}

export type NodeMark = 'added' | 'removed' | 'moved' | 'changed' | 'unavailable';
export type EdgeMark = 'added' | 'removed' | 'changed';

/** A diff's colours (with the word as the edge's label: colour is never the only cue). */
export const EDGE_MARK_COLOUR: Record<EdgeMark, string> = { added: '#15803d', removed: '#b91c1c', changed: '#b45309' };

/** The selection: one node id (read-only pages), or a set (the editor's multi-selection). */
export type Selection = string | null | ReadonlySet<string>;

function isSelected(selection: Selection, id: string): boolean {
  return typeof selection === 'string' || selection === null ? selection === id : selection.has(id);
}

export type GraphNode = Node<GraphNodeData, 'nwNode'>;

export interface StatusLike {
  state: string;
  attempt?: number;
  runner?: string | null;
  started?: string | null;
  finished?: string | null;
  waiting?: { reason: string; detail: string } | null;
  error?: string | null;
}

function seconds(from?: string | null, to?: string | null): number | null {
  if (!from || !to) return null;
  const d = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(d) ? d : null;
}

export function nodeRunView(status: StatusLike | undefined): NodeRunView | null {
  if (!status) return null;
  const word = stateWord(status.state, {
    runner: status.runner,
    // Only durations of finished tasks: a ticking "running for 12 s" would re-render every running node each second.
    seconds: status.state === 'succeeded' ? seconds(status.started, status.finished) : null,
    attempt: status.attempt,
  });
  const hint = status.waiting?.detail ?? (status.error ? status.error.split('\n', 1)[0].slice(0, 200) : null);
  return { state: status.state, word, hint };
}

/**
 * Where the node component draws its handles, given up front: an edge to a node outside the viewport
 * (not rendered with onlyRenderVisibleElements, so never measured) is still drawn to the right terminal.
 */
export function nodeHandles(node: NodeModel): NodeHandle[] {
  const half = HANDLE_SIZE / 2;
  return [
    ...node.inputs.map((t, i) => ({
      id: t.name, type: 'target' as const, position: Position.Left,
      x: -half, y: handleTop(i) - half, width: HANDLE_SIZE, height: HANDLE_SIZE,
    })),
    ...node.outputs.map((t, i) => ({
      id: t.name, type: 'source' as const, position: Position.Right,
      x: NODE_WIDTH - half, y: handleTop(i) - half, width: HANDLE_SIZE, height: HANDLE_SIZE,
    })),
  ];
}

interface CacheEntry {
  model: NodeModel;
  key: string;
  node: GraphNode;
}

export class GraphElementCache {
  private nodes = new Map<string, CacheEntry>();
  private edgesFor: {
    model: GraphModel | null;
    plan: PlanHighlight | null;
    selected: ReadonlySet<string> | null;
    marks: ReadonlyMap<string, EdgeMark> | null;
    edges: Edge[];
  } = { model: null, plan: null, selected: null, marks: null, edges: [] };

  /** Nodes for the canvas; an unchanged node is the same object as last time. */
  buildNodes(
    model: GraphModel,
    statuses: Record<string, StatusLike> | null | undefined,
    plan: PlanHighlight | null,
    selectedId: Selection,
    marks?: ReadonlyMap<string, NodeMark> | null,
  ): GraphNode[] {
    const next = new Map<string, CacheEntry>();
    const out: GraphNode[] = [];
    for (const node of model.nodes) {
      const run = nodeRunView(statuses?.[node.id]);
      const level = plan?.levelOf.get(node.id) ?? null;
      const critical = !!plan?.critical.has(node.id);
      const dimmed = !!plan && !critical;
      const selected = isSelected(selectedId, node.id);
      const mark = marks?.get(node.id) ?? null;
      const key = `${mark ?? ''}\u0000${run?.state ?? ''}\u0000${run?.word ?? ''}\u0000${run?.hint ?? ''}\u0000${String(level)}\u0000${String(critical)}\u0000${String(dimmed)}\u0000${String(selected)}\u0000${String(node.pos?.x)},${String(node.pos?.y)}`;
      const old = this.nodes.get(node.id);
      let entry: CacheEntry;
      if (old && old.model === node && old.key === key) entry = old;
      else {
        const width = NODE_WIDTH;
        const height = nodeHeight(node.inputs.length, node.outputs.length);
        entry = {
          model: node,
          key,
          node: {
            id: node.id,
            type: 'nwNode',
            position: node.pos ?? { x: 0, y: 0 },
            data: { node, run, level, critical, dimmed, mark },
            selected,
            width,
            height,
            // Known sizes: the canvas need not wait for a DOM measurement before drawing edges.
            initialWidth: width,
            initialHeight: height,
            handles: nodeHandles(node),
            // Declared as measured: the canvas then counts every node as initialised (fit view, minimap)
            // without waiting for a DOM measurement that unrendered off-screen nodes never get.
            measured: { width, height },
          },
        };
      }
      next.set(node.id, entry);
      out.push(entry.node);
    }
    this.nodes = next;
    return out;
  }

  /**
   * Edges only change with the model, the plan highlight, the editor's selected connections or a diff's
   * marks, never with a poll.
   */
  buildEdges(
    model: GraphModel,
    plan: PlanHighlight | null,
    selected: ReadonlySet<string> | null = null,
    marks: ReadonlyMap<string, EdgeMark> | null = null,
  ): Edge[] {
    const last = this.edgesFor;
    if (last.model === model && last.plan === plan && last.selected === selected && last.marks === marks) return last.edges;
    const edges: Edge[] = model.edges.map((e) => {
      const critical = !!plan?.criticalEdges.has(e.id);
      const mark = marks?.get(e.id);
      const classes = [e.feedback ? 'feedback' : '', critical ? 'critical' : '', plan && !critical ? 'dimmed' : '', mark ? `diff-${mark}` : '']
        .filter(Boolean)
        .join(' ');
      return {
        id: e.id,
        source: e.source,
        sourceHandle: e.sourceHandle,
        target: e.target,
        targetHandle: e.targetHandle,
        className: classes || undefined,
        // Dashed (components/Graph/FeedbackEdge): a feedback connection carries last run's value and does not
        // order tasks; it runs backwards, often into its own node, so it is routed under the nodes.
        style: mark
          ? { stroke: EDGE_MARK_COLOUR[mark], strokeWidth: 3, ...(mark === 'removed' || e.feedback ? { strokeDasharray: '6 4' } : {}) }
          : e.feedback
            ? { strokeDasharray: '6 4' }
            : undefined,
        ...(e.feedback ? { type: 'feedback' } : {}),
        data: { feedback: e.feedback, mark: mark ?? null },
        focusable: selected !== null,
        selected: selected?.has(e.id) ?? false,
        ...(mark ? { label: mark, labelStyle: { fontSize: 11, fontWeight: 600 }, labelBgPadding: [4, 2] as [number, number], labelBgBorderRadius: 4 } : {}),
      };
    });
    this.edgesFor = { model, plan, selected, marks, edges };
    return edges;
  }
}
