export { WorkflowGraph, type WorkflowGraphProps } from './WorkflowGraph';
export { Legend } from './Legend';
export { useLaidOutModel } from './useLaidOutModel';
