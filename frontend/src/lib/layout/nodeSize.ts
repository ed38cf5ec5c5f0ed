/**
 * The rendered size of a graph node, computed from its terminals. The canvas node component draws exactly
 * these dimensions (fixed row heights), so layout and overlap checks agree with what is on screen without
 * measuring the DOM (which would cost a layout pass per node on a 5,000-node graph).
 */

export const NODE_WIDTH = 220;
export const NODE_HEADER_HEIGHT = 46;
export const NODE_ROW_HEIGHT = 22;
export const NODE_STATE_HEIGHT = 26;
export const NODE_PADDING = 6;

export function nodeHeight(inputs: number, outputs: number): number {
  return NODE_HEADER_HEIGHT + Math.max(inputs, outputs, 1) * NODE_ROW_HEIGHT + NODE_PADDING + NODE_STATE_HEIGHT;
}

/** Vertical centre of terminal row `index`, from the node's top: where its handle sits. */
export function handleTop(index: number): number {
  return NODE_HEADER_HEIGHT + index * NODE_ROW_HEIGHT + NODE_ROW_HEIGHT / 2;
}

/** Handles are squares of this side, centred on the node's left (inputs) and right (outputs) edge. */
export const HANDLE_SIZE = 10;
