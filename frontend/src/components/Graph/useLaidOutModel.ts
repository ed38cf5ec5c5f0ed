import { useEffect, useState } from 'react';
import { layoutGraph, needsLayout, withPositions, type LayoutReason } from '../../lib/layout';
import type { GraphModel } from '../../lib/ncGraph';

export interface LaidOut {
  /** The model with every node placed; null while the layout runs. */
  model: GraphModel | null;
  /** Why it was laid out automatically (null: the file's positions are used). */
  reason: LayoutReason;
}

/** The file's positions when they can be drawn; else an elk layout computed in a web worker. */
export function useLaidOutModel(model: GraphModel | null): LaidOut {
  const reason = model ? needsLayout(model) : null;
  const [laidOut, setLaidOut] = useState<{ from: GraphModel; model: GraphModel } | null>(null);
  useEffect(() => {
    if (!model || !reason) return;
    let current = true;
    void layoutGraph(model).then(({ positions }) => {
      if (current) setLaidOut({ from: model, model: withPositions(model, positions) });
    });
    return () => {
      current = false;
    };
  }, [model, reason]);
  if (!model) return { model: null, reason: null };
  if (!reason) return { model, reason: null };
  return { model: laidOut?.from === model ? laidOut.model : null, reason };
}
