/// <reference lib="webworker" />
import ELK from 'elkjs/lib/elk.bundled.js';
import type { Position } from '../ncGraph';
import { toElkGraph } from './elkGraph';
import { levelsLayout, type LayoutInput } from './levelsLayout';

/** Above this, elk's crossing minimisation takes too long for a page that is waiting: plain levels instead. */
const ELK_MAX_NODES = 1500;

export interface LayoutRequest {
  id: number;
  input: LayoutInput;
}

export interface LayoutResponse {
  id: number;
  positions: [string, Position][];
  engine: 'elk' | 'levels';
  error?: string;
}

const elk = new ELK();

async function layout(input: LayoutInput): Promise<Pick<LayoutResponse, 'positions' | 'engine' | 'error'>> {
  if (input.nodes.length <= ELK_MAX_NODES) {
    try {
      const result = await elk.layout(toElkGraph(input));
      const positions: [string, Position][] = (result.children ?? []).map((c) => [c.id, { x: c.x ?? 0, y: c.y ?? 0 }]);
      return { positions, engine: 'elk' };
    } catch (error) {
      return { positions: [...levelsLayout(input)], engine: 'levels', error: String(error) };
    }
  }
  return { positions: [...levelsLayout(input)], engine: 'levels' };
}

self.onmessage = (event: MessageEvent<LayoutRequest>) => {
  const { id, input } = event.data;
  void layout(input).then((answer) => {
    (self as unknown as Worker).postMessage({ id, ...answer } satisfies LayoutResponse);
  });
};
