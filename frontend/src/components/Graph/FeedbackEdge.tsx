import { memo } from 'react';
import { BaseEdge, useInternalNode, type EdgeProps } from '@xyflow/react';

const OUT = 26;
const BELOW = 22;

/**
 * A feedback connection: it carries last run's value backwards (often into its own node), so it is routed
 * out of the source's right side, under both nodes and into the target's left side, dashed and labelled,
 * instead of cutting across the nodes.
 */
export const FeedbackEdge = memo(function FeedbackEdge({ id, source, target, sourceX, sourceY, targetX, targetY, style, markerEnd }: EdgeProps) {
  const from = useInternalNode(source);
  const to = useInternalNode(target);
  const bottom = (n: typeof from) => (n ? n.internals.positionAbsolute.y + (n.measured.height ?? n.height ?? 0) : Math.max(sourceY, targetY));
  const y = Math.max(bottom(from), bottom(to)) + BELOW;
  const right = sourceX + OUT;
  const left = targetX - OUT;
  const path = `M ${sourceX} ${sourceY} H ${right} V ${y} H ${left} V ${targetY} H ${targetX}`;
  return (
    <BaseEdge
      id={id}
      path={path}
      style={{ strokeDasharray: '6 4', ...style }}
      markerEnd={markerEnd}
      label="feedback"
      labelX={(left + right) / 2}
      labelY={y}
      labelBgPadding={[4, 2]}
      labelBgBorderRadius={3}
    />
  );
});
