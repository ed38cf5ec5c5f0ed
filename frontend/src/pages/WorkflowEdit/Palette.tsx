import { useId, useMemo, useState } from 'react';
import { PALETTE_MIME } from '../../components/Graph/EditorGraph';
import { groupLibrary, type LibraryNode } from '../../lib/nodeLibrary';
import type { NodeLibrary } from '../../queries/nodeLibrary';
import styles from './WorkflowEdit.module.css';

/**
 * The node types a user can run, grouped by library path and searchable. Drag one onto the canvas, or
 * click it (or press Enter on it) to add it in the middle of the view.
 */
export function Palette({ library, loading, onAdd }: { library: NodeLibrary | undefined; loading: boolean; onAdd: (node: LibraryNode) => void }) {
  const [query, setQuery] = useState('');
  const searchId = useId();
  const groups = useMemo(() => groupLibrary(library?.nodes ?? [], query), [library, query]);
  return (
    <aside className={styles.palette} aria-label="Node palette" data-testid="palette">
      <h2 className={styles.panelTitle}>Nodes</h2>
      <label htmlFor={searchId} className="visually-hidden">
        Search the nodes
      </label>
      <input id={searchId} type="search" placeholder="Search nodes" value={query} onChange={(e) => setQuery(e.target.value)} />
      {loading && <p className="muted">Loading the node library…</p>}
      {library?.source === 'builtin' && (
        <p className={styles.paletteNote}>No runner of yours has reported its node library: these are the built-in nodes of the runner package.</p>
      )}
      {library?.source === 'runners' && <p className={styles.paletteNote}>The nodes your online runners offer.</p>}
      {groups.length === 0 && !loading && <p className="muted">No node matches “{query}”.</p>}
      {groups.map(({ group, nodes }) => (
        <section key={group} className={styles.paletteGroup}>
          <h3>{group}</h3>
          <ul>
            {nodes.map((node) => {
              const key = node.path.join('/');
              return (
                <li key={key}>
                  <button
                    type="button"
                    draggable
                    className={styles.paletteItem}
                    data-path={key}
                    title={`${key}${node.doc ? `: ${node.doc}` : ''} (drag onto the canvas, or click to add)`}
                    onDragStart={(e) => {
                      e.dataTransfer.setData(PALETTE_MIME, key);
                      e.dataTransfer.effectAllowed = 'copy';
                    }}
                    onClick={() => onAdd(node)}
                  >
                    <span className={styles.paletteName}>{node.name ?? node.path[node.path.length - 1]}</span>
                    {node.doc && <span className={styles.paletteDoc}>{node.doc}</span>}
                  </button>
                </li>
              );
            })}
          </ul>
        </section>
      ))}
    </aside>
  );
}
