export { needsLayout, type LayoutReason } from './needsLayout';
export { layoutGraph, layoutInput, withPositions } from './layoutGraph';
export { levelsLayout } from './levelsLayout';
export * from './nodeSize';
