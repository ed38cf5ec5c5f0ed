import { memo, useEffect, useMemo, useRef } from 'react';
import { useReactFlow, useStore, type ReactFlowState } from '@xyflow/react';
import type { GraphNode } from '../../lib/graphElements';
import { stateStyle } from '../../lib/taskStates';
import styles from './Graph.module.css';

const W = 200;
const H = 140;
const PAD = 6;

const selectWidth = (s: ReactFlowState) => s.width;
const selectHeight = (s: ReactFlowState) => s.height;
const selectX = (s: ReactFlowState) => s.transform[0];
const selectY = (s: ReactFlowState) => s.transform[1];
const selectZoom = (s: ReactFlowState) => s.transform[2];

/**
 * The overview of a big graph, painted once on a <canvas> (again only when the nodes change, i.e. at most
 * once per status poll); panning moves one rectangle. The SVG minimap repaints a shape per node on every
 * frame of a pan: 5,000 of them took the pan of a 5,000-node graph from 28 fps down to 8 here.
 */
export const CanvasMiniMap = memo(function CanvasMiniMap({ nodes }: { nodes: GraphNode[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const flow = useReactFlow();
  const view = {
    width: useStore(selectWidth),
    height: useStore(selectHeight),
    x: useStore(selectX),
    y: useStore(selectY),
    zoom: useStore(selectZoom),
  };

  const frame = useMemo(() => {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const n of nodes) {
      minX = Math.min(minX, n.position.x);
      minY = Math.min(minY, n.position.y);
      maxX = Math.max(maxX, n.position.x + (n.width ?? 0));
      maxY = Math.max(maxY, n.position.y + (n.height ?? 0));
    }
    if (!Number.isFinite(minX)) return null;
    const scale = Math.min((W - 2 * PAD) / Math.max(maxX - minX, 1), (H - 2 * PAD) / Math.max(maxY - minY, 1));
    const offX = PAD + (W - 2 * PAD - (maxX - minX) * scale) / 2;
    const offY = PAD + (H - 2 * PAD - (maxY - minY) * scale) / 2;
    return { minX, minY, scale, offX, offY };
  }, [nodes]);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx || !frame) return;
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, W, H);
    for (const n of nodes) {
      ctx.fillStyle = n.data.run ? stateStyle(n.data.run.state).colour : '#cbd5e1';
      ctx.fillRect(
        frame.offX + (n.position.x - frame.minX) * frame.scale,
        frame.offY + (n.position.y - frame.minY) * frame.scale,
        Math.max(1, (n.width ?? 0) * frame.scale),
        Math.max(1, (n.height ?? 0) * frame.scale),
      );
    }
  }, [nodes, frame]);

  if (!frame) return null;
  // The visible part of the graph, in minimap pixels.
  const left = frame.offX + (-view.x / view.zoom - frame.minX) * frame.scale;
  const top = frame.offY + (-view.y / view.zoom - frame.minY) * frame.scale;
  const width = (view.width / view.zoom) * frame.scale;
  const height = (view.height / view.zoom) * frame.scale;

  const centreAt = (event: React.PointerEvent<HTMLDivElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const x = (event.clientX - box.left - frame.offX) / frame.scale + frame.minX;
    const y = (event.clientY - box.top - frame.offY) / frame.scale + frame.minY;
    void flow.setCenter(x, y, { zoom: view.zoom });
  };

  return (
    <div
      className={styles.canvasMiniMap}
      style={{ width: W, height: H }}
      role="img"
      aria-label="Overview of the graph (click or drag to move there)"
      onPointerDown={(e) => {
        e.currentTarget.setPointerCapture(e.pointerId);
        centreAt(e);
      }}
      onPointerMove={(e) => {
        if (e.buttons === 1) centreAt(e);
      }}
    >
      <canvas ref={canvas} width={W * (window.devicePixelRatio || 1)} height={H * (window.devicePixelRatio || 1)} style={{ width: W, height: H }} />
      <div className={styles.canvasMiniMapView} style={{ left, top, width, height }} />
    </div>
  );
});
