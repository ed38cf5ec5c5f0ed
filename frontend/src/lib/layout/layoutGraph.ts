import type { GraphModel, Position } from '../ncGraph';
import type { LayoutRequest, LayoutResponse } from './layout.worker';
import { levelsLayout, type LayoutInput } from './levelsLayout';
import { NODE_WIDTH, nodeHeight } from './nodeSize';

export function layoutInput(model: GraphModel): LayoutInput {
  return {
    nodes: model.nodes.map((n) => ({
      id: n.id,
      width: NODE_WIDTH,
      height: nodeHeight(n.inputs.length, n.outputs.length),
      inputs: n.inputs.map((t) => t.name),
      outputs: n.outputs.map((t) => t.name),
    })),
    edges: model.edges
      .filter((e) => !e.feedback)
      .map(({ id, source, sourceHandle, target, targetHandle }) => ({ id, source, sourceHandle, target, targetHandle })),
  };
}

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, (answer: LayoutResponse) => void>();

function layoutWorker(): Worker | null {
  if (typeof Worker === 'undefined') return null;
  if (!worker) {
    worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<LayoutResponse>) => {
      waiting.get(event.data.id)?.(event.data);
      waiting.delete(event.data.id);
    };
    // A worker that cannot start (a blocked script, an old browser) must not leave the page waiting forever.
    worker.onerror = () => {
      for (const [id, resolve] of waiting) resolve({ id, positions: [], engine: 'levels', error: 'layout worker failed' });
      waiting.clear();
      worker = null;
    };
  }
  return worker;
}

/** Positions for every node, computed off the main thread (elk in a web worker) so the page stays responsive. */
export async function layoutGraph(model: GraphModel): Promise<{ positions: Map<string, Position>; engine: string }> {
  const input = layoutInput(model);
  const w = layoutWorker();
  if (!w) return { positions: levelsLayout(input), engine: 'levels' };
  const id = nextId++;
  const answer = await new Promise<LayoutResponse>((resolve) => {
    waiting.set(id, resolve);
    w.postMessage({ id, input } satisfies LayoutRequest);
  });
  if (answer.positions.length === 0 && answer.error) return { positions: levelsLayout(input), engine: 'levels' };
  return { positions: new Map(answer.positions), engine: answer.engine };
}

/** A model whose nodes sit at the given positions (nodes without one keep theirs). */
export function withPositions(model: GraphModel, positions: Map<string, Position>): GraphModel {
  return { ...model, nodes: model.nodes.map((n) => (positions.has(n.id) ? { ...n, pos: positions.get(n.id)! } : n)) };
}
