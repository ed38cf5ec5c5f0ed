import type { ElkNode } from 'elkjs/lib/elk-api';
import type { LayoutInput } from './levelsLayout';
import { LAYER_GAP, NODE_GAP } from './levelsLayout';

export function portId(node: string, side: 'in' | 'out', terminal: string): string {
  return `${node}\u0000${side}\u0000${terminal}`;
}

/** The elk input: left-to-right layers, terminals as ports in their drawn order (inputs west, outputs east). */
export function toElkGraph(input: LayoutInput): ElkNode {
  return {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.layered.spacing.nodeNodeBetweenLayers': String(LAYER_GAP),
      'elk.spacing.nodeNode': String(NODE_GAP),
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.separateConnectedComponents': 'true',
    },
    children: input.nodes.map((n) => ({
      id: n.id,
      width: n.width,
      height: n.height,
      layoutOptions: { 'elk.portConstraints': 'FIXED_ORDER' },
      ports: [
        ...n.inputs.map((t) => ({ id: portId(n.id, 'in', t), width: 1, height: 1, layoutOptions: { 'elk.port.side': 'WEST' } })),
        ...n.outputs.map((t) => ({ id: portId(n.id, 'out', t), width: 1, height: 1, layoutOptions: { 'elk.port.side': 'EAST' } })),
      ],
    })),
    edges: input.edges.map((e) => ({
      id: e.id,
      sources: [portId(e.source, 'out', e.sourceHandle)],
      targets: [portId(e.target, 'in', e.targetHandle)],
    })),
  };
}
