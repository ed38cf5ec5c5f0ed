import type { EdgeModel } from './ncGraph';

export interface PlanInput {
  levels: string[][];
  critical_path: Record<string, number>;
}

export interface PlanHighlight {
  /** Node → its level (0 = no unfinished parents): nodes of one level may run at the same time. */
  levelOf: Map<string, number>;
  levelCount: number;
  /** The chain of nodes that decides the run's length, from the first to the last. */
  criticalNodes: string[];
  critical: Set<string>;
  criticalEdges: Set<string>;
}

/**
 * From the server's plan (`critical_path` = each node's longest remaining path, itself included) to what the
 * canvas highlights: the path starts at the node with the longest remaining path and follows, at each step,
 * the successor whose remaining path is longest. Feedback connections never order tasks, so never count.
 */
export function planHighlight(plan: PlanInput, edges: EdgeModel[]): PlanHighlight {
  const levelOf = new Map<string, number>();
  plan.levels.forEach((level, i) => level.forEach((node) => levelOf.set(node, i)));
  const cp = plan.critical_path;
  const succ = new Map<string, EdgeModel[]>();
  for (const edge of edges) {
    if (edge.feedback) continue;
    const list = succ.get(edge.source);
    if (list) list.push(edge);
    else succ.set(edge.source, [edge]);
  }
  let start: string | null = null;
  for (const [node, length] of Object.entries(cp)) if (start === null || length > cp[start]) start = node;
  const criticalNodes: string[] = [];
  const critical = new Set<string>();
  const criticalEdges = new Set<string>();
  let current = start;
  while (current !== null && !critical.has(current)) {
    criticalNodes.push(current);
    critical.add(current);
    let best: EdgeModel | null = null;
    for (const edge of succ.get(current) ?? []) {
      if ((cp[edge.target] ?? -Infinity) > (best ? (cp[best.target] ?? -Infinity) : -Infinity)) best = edge;
    }
    if (!best) break;
    criticalEdges.add(best.id);
    // Every parallel connection between the same two nodes is on the path too.
    for (const edge of succ.get(current) ?? []) if (edge.target === best.target) criticalEdges.add(edge.id);
    current = best.target;
  }
  return { levelOf, levelCount: plan.levels.length, criticalNodes, critical, criticalEdges };
}
