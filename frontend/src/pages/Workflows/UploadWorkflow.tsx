import { useId, useRef, useState, type DragEvent, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { errorMessage } from '../../api/client';
import { Message } from '../../components/Message/Message';
import { useUploadWorkflow } from '../../queries/workflows';
import styles from './UploadWorkflow.module.css';

/** The name a workflow gets from its file unless the person types another: "node_ex.nc" → "node_ex". */
export function nameFromFile(fileName: string): string {
  return fileName.replace(/\.nc$/i, '');
}

export function UploadWorkflow({ onDone }: { onDone?: () => void }) {
  const upload = useUploadWorkflow();
  const navigate = useNavigate();
  const inputRef = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [message, setMessage] = useState('');
  const [dragging, setDragging] = useState(false);
  const [published, setPublished] = useState<{ id: number; name: string } | null>(null);
  const ids = { name: useId(), message: useId(), file: useId() };

  function choose(chosen: File | null | undefined) {
    if (!chosen) return;
    setFile(chosen);
    setName((current) => current || nameFromFile(chosen.name));
    setPublished(null);
    upload.reset();
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    choose(event.dataTransfer.files?.[0]);
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    const result = await upload.mutateAsync({ file, name, message }).catch(() => null);
    if (!result) return;
    setPublished({ id: result.id, name: result.name });
    setFile(null);
    setName('');
    setMessage('');
    if (inputRef.current) inputRef.current.value = '';
    onDone?.();
  }

  return (
    <form className={styles.panel} onSubmit={onSubmit} aria-label="Upload a workflow" data-testid="upload-form">
      <div
        className={`${styles.drop} ${dragging ? styles.dragging : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        data-testid="drop-zone"
      >
        <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true">
          <path d="M12 16V4m0 0l-4 4m4-4l4 4M4 16v3a1 1 0 001 1h14a1 1 0 001-1v-3" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
        <div>
          {file ? (
            <span>
              <strong>{file.name}</strong> ({Math.max(1, Math.round(file.size / 1024))} KB) is ready to upload.
            </span>
          ) : (
            <span>Drop a Nodeworks <code>.nc</code> file here, or</span>
          )}{' '}
          <label htmlFor={ids.file} className={styles.pick}>
            {file ? 'choose another file' : 'choose a file'}
          </label>
          <input
            ref={inputRef}
            id={ids.file}
            className={styles.fileInput}
            type="file"
            name="file"
            accept=".nc,application/json"
            onChange={(e) => choose(e.target.files?.[0])}
          />
        </div>
      </div>
      <div className={styles.fields}>
        <div className={styles.field}>
          <label htmlFor={ids.name}>Name</label>
          <input id={ids.name} name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="from the file name" maxLength={200} />
        </div>
        <div className={`${styles.field} ${styles.grow}`}>
          <label htmlFor={ids.message}>Message</label>
          <input
            id={ids.message}
            name="message"
            value={message}
            onChange={(e) => setMessage(e.target.value)}
            placeholder="what this version is (optional)"
            maxLength={10_000}
          />
        </div>
        <button type="submit" className="primary" disabled={!file || upload.isPending}>
          {upload.isPending ? 'Uploading…' : 'Upload'}
        </button>
      </div>
      {upload.isError && <Message testId="upload-error">Could not upload: {errorMessage(upload.error)}</Message>}
      {published && (
        <Message kind="success" testId="upload-success">
          Uploaded <strong>{published.name}</strong>.{' '}
          <button type="button" className={styles.linkButton} onClick={() => navigate(`/workflows/${published.id}`)}>
            Open it
          </button>
        </Message>
      )}
    </form>
  );
}
