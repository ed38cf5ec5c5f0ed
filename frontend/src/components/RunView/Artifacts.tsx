import { useState } from 'react';
import { errorMessage } from '../../api/client';
import { downloadArtifact, useArtifactObjectUrl, useProvenance } from '../../queries/artifacts';
import type { NodeArtifact } from '../../queries/status';
import { Time } from '../Time/Time';
import styles from './RunView.module.css';

function isPng(name: string): boolean {
  return /\.png$/i.test(name);
}

function ArtifactImage({ artifact }: { artifact: NodeArtifact }) {
  const { url, error } = useArtifactObjectUrl(artifact.id);
  if (error) return <p className={styles.errorText}>The image could not be loaded: {errorMessage(error)}</p>;
  if (!url) return <p className="muted">Loading the image…</p>;
  return <img className={styles.artifactImage} src={url} alt={`${artifact.name} (an artifact of this node)`} />;
}

function ProvenanceDetails({ id }: { id: string }) {
  const { data, error, isPending } = useProvenance(id);
  if (isPending) return <p className="muted">Loading…</p>;
  if (error) return <p className={styles.errorText}>{errorMessage(error)}</p>;
  return (
    <dl className={styles.facts}>
      <dt>node</dt>
      <dd>
        {data.node} <span className="muted">({data.path.join('/')})</span>, attempt {data.attempt}
      </dd>
      <dt>run</dt>
      <dd>
        {data.run_id}, revision <span className="mono">{data.revision.slice(0, 10)}</span>
      </dd>
      <dt>runner</dt>
      <dd>{data.runner ?? '—'}</dd>
      <dt>made</dt>
      <dd>
        <Time iso={data.created} />
      </dd>
      <dt>size</dt>
      <dd>
        {data.size.toLocaleString()} bytes, {data.content_type}
      </dd>
      <dt>sha256</dt>
      <dd className="mono">
        {data.sha256}
      </dd>
    </dl>
  );
}

/** A node's artifacts: PNGs shown (fetched with the session, as a blob), everything downloadable, provenance on click. */
export function Artifacts({ artifacts }: { artifacts: NodeArtifact[] }) {
  const [open, setOpen] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  if (artifacts.length === 0) return <p className="muted">No artifacts.</p>;
  return (
    <ul className={styles.artifacts}>
      {artifacts.map((artifact) => (
        <li key={artifact.id}>
          {isPng(artifact.name) && <ArtifactImage artifact={artifact} />}
          <div className={styles.artifactLine}>
            <span className="mono">{artifact.name}</span>
            <button
              type="button"
              onClick={() => {
                setDownloadError(null);
                downloadArtifact(artifact.id, artifact.name).catch((e: unknown) => setDownloadError(errorMessage(e)));
              }}
            >
              Download
            </button>
            <button type="button" aria-expanded={open === artifact.id} onClick={() => setOpen(open === artifact.id ? null : artifact.id)}>
              Provenance
            </button>
          </div>
          {open === artifact.id && <ProvenanceDetails id={artifact.id} />}
        </li>
      ))}
      {downloadError && <li className={styles.errorText}>{downloadError}</li>}
    </ul>
  );
}
