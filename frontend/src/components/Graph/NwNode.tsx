import { memo } from 'react';
import { Handle, Position, useStore, type NodeProps, type ReactFlowState } from '@xyflow/react';
import type { GraphNode, NodeMark } from '../../lib/graphElements';
import { HANDLE_SIZE, handleTop, NODE_ROW_HEIGHT, NODE_WIDTH, nodeHeight } from '../../lib/layout/nodeSize';
import { stateStyle } from '../../lib/taskStates';
import { StateIcon } from '../StateBadge/StateIcon';
import styles from './Graph.module.css';

/** Below this zoom the labels are unreadable anyway: a node draws a coloured box with its name only. */
export const LOW_DETAIL_ZOOM = 0.45;
// A boolean selector: a node re-renders only when the zoom crosses the threshold, not on every zoom frame.
const lowDetailSelector = (state: ReactFlowState) => state.transform[2] < LOW_DETAIL_ZOOM;

/**
 * One Nodeworks node: name and library path, its terminals as named handles (inputs left, outputs right,
 * handle id = terminal name) and, when a run is shown, its state as icon + word + colour.
 * Fixed sizes (nodeSize.ts), so layout, overlap checks and the handles given to the canvas match the drawing.
 */
const MARK_WORD: Record<NodeMark, string> = {
  added: 'added',
  removed: 'removed',
  moved: 'moved',
  changed: 'changed',
  unavailable: 'no runner offers this node',
};

export const NwNode = memo(function NwNode({ data, selected, isConnectable }: NodeProps<GraphNode>) {
  const { node, run, level, critical, dimmed } = data;
  const mark = data.mark ?? null;
  const look = run ? stateStyle(run.state) : null;
  const lowDetail = useStore(lowDetailSelector);
  const rows = Math.max(node.inputs.length, node.outputs.length, 1);
  const className = [
    styles.node,
    selected ? styles.selected : '',
    critical ? styles.critical : '',
    dimmed ? styles.dimmed : '',
    look?.hatched ? styles.hatched : '',
    mark ? styles[`mark-${mark}`] : '',
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <div
      className={className}
      style={{
        width: NODE_WIDTH,
        height: nodeHeight(node.inputs.length, node.outputs.length),
        borderColor: look?.colour,
      }}
      data-node={node.id}
      data-state={run?.state ?? 'none'}
      data-mark={mark ?? undefined}
    >
      {mark && (
        <span className={styles.markBadge} title={mark === 'unavailable' ? `No online runner offers ${node.path.join('/')}: a run would wait for one.` : undefined}>
          {MARK_WORD[mark]}
        </span>
      )}
      {lowDetail ? (
        <div className={styles.lowDetail} style={look ? { background: look.tint, color: look.text } : undefined}>
          <span className={styles.lowDetailName}>{node.name}</span>
          {run && <span className={styles.lowDetailWord}>{run.word}</span>}
        </div>
      ) : (
      <>
      <div className={styles.header} style={look ? { boxShadow: `inset 4px 0 0 ${look.colour}` } : undefined}>
        <div className={styles.name} title={node.name}>
          {node.name}
          {level !== null && <span className={styles.level} title={`plan level ${level.toString()}`}>L{level}</span>}
        </div>
        <div className={styles.path} title={node.path.join('/')}>
          {node.path.join(' / ')}
        </div>
      </div>
      <div className={styles.rows} style={{ height: rows * NODE_ROW_HEIGHT }}>
        {node.inputs.map((t, i) => (
          <div key={`in-${t.name}`} className={styles.input} style={{ top: i * NODE_ROW_HEIGHT }} title={`${t.name}${t.dtype ? `: ${t.dtype}` : ''}${t.multiinput ? ' (takes several connections)' : ''}`}>
            {t.name}
          </div>
        ))}
        {node.outputs.map((t, i) => (
          <div key={`out-${t.name}`} className={styles.output} style={{ top: i * NODE_ROW_HEIGHT }} title={t.dtype ? `${t.name}: ${t.dtype}` : t.name}>
            {t.name}
          </div>
        ))}
      </div>
      <div className={styles.state} style={look ? { background: look.tint, color: look.text } : undefined} title={run ? (run.hint ? `${run.word}: ${run.hint}` : run.word) : undefined}>
        {run && look ? (
          <>
            <span style={{ color: look.colour, display: 'inline-flex' }}>
              <StateIcon icon={look.icon} animated={look.animated} size={13} />
            </span>
            <span className={styles.word}>{run.word}</span>
          </>
        ) : (
          <span className={styles.noRun}>not run</span>
        )}
      </div>
      </>
      )}
      {node.inputs.map((t, i) => (
        <Handle
          key={`h-in-${t.name}`}
          id={t.name}
          type="target"
          position={Position.Left}
          isConnectable={isConnectable}
          className={t.multiinput ? `${styles.handle} ${styles.multiHandle}` : styles.handle}
          style={{ top: handleTop(i), width: HANDLE_SIZE, height: HANDLE_SIZE }}
        />
      ))}
      {node.outputs.map((t, i) => (
        <Handle
          key={`h-out-${t.name}`}
          id={t.name}
          type="source"
          position={Position.Right}
          isConnectable={isConnectable}
          className={styles.handle}
          style={{ top: handleTop(i), width: HANDLE_SIZE, height: HANDLE_SIZE }}
        />
      ))}
    </div>
  );
});
