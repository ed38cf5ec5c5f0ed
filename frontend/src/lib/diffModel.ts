/**
 * A diff drawn on one canvas: the newer revision's graph, plus the removed nodes and connections of the
 * older one (drawn dashed in red), with a mark per object: added, removed, moved, changed.
 */
import type { EdgeMark, NodeMark } from './graphElements';
import { ncToModel, type GraphModel } from './ncGraph';
import type { NcDiff } from './ncDiff';

export interface DiffCanvas {
  model: GraphModel;
  marks: Map<string, NodeMark>;
  edgeMarks: Map<string, EdgeMark>;
}

/** Canvas id of a removed connection: its name may be taken by a new connection in the newer revision. */
export const removedEdgeId = (id: string) => `removed:${id}`;

export function diffCanvas(before: unknown, after: unknown, diff: NcDiff): DiffCanvas {
  const older = ncToModel(before);
  const newer = ncToModel(after);
  const marks = new Map<string, NodeMark>();
  const edgeMarks = new Map<string, EdgeMark>();
  for (const n of diff.changed) marks.set(n.id, 'changed');
  // Moved wins over changed only when nothing else changed: a value change matters more than a position.
  for (const n of diff.moved) if (!marks.has(n.id)) marks.set(n.id, 'moved');
  for (const n of diff.added) marks.set(n.id, 'added');
  const removedIds = new Set(diff.removed.map((n) => n.id));
  for (const id of removedIds) marks.set(id, 'removed');
  const nodes = [...newer.nodes, ...older.nodes.filter((n) => removedIds.has(n.id))];
  for (const c of diff.connectionsAdded) edgeMarks.set(c.id, 'added');
  for (const c of diff.connectionsChanged) edgeMarks.set(c.id, 'changed');
  const removedEdges = new Set(diff.connectionsRemoved.map((c) => c.id));
  const edges = [
    ...newer.edges,
    ...older.edges.filter((e) => removedEdges.has(e.id)).map((e) => ({ ...e, id: removedEdgeId(e.id) })),
  ];
  for (const id of removedEdges) edgeMarks.set(removedEdgeId(id), 'removed');
  return {
    model: { nodes, edges, others: newer.others, order: newer.order, problems: [...newer.problems] },
    marks,
    edgeMarks,
  };
}
