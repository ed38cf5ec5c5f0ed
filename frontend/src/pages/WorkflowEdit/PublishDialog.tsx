import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { errorMessage } from '../../api/client';
import { Message } from '../../components/Message/Message';
import styles from './WorkflowEdit.module.css';

export interface PublishDialogProps {
  open: boolean;
  /** A new workflow asks for its name too. */
  isNew: boolean;
  summary: string;
  busy: boolean;
  error: unknown;
  onPublish: (message: string, name: string) => void;
  onClose: () => void;
}

/** Save as a new revision: a message (what changed and why), and for a new workflow its name. */
export function PublishDialog({ open, isNew, summary, busy, error, onPublish, onClose }: PublishDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [message, setMessage] = useState('');
  const [name, setName] = useState('');
  const titleId = useId();
  const messageId = useId();
  const nameId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    else if (!open && dialog.open) dialog.close();
  }, [open]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onPublish(message.trim(), name.trim());
  };
  return (
    <dialog ref={ref} className={styles.dialog} aria-labelledby={titleId} onClose={onClose} data-testid="publish-dialog">
      <form onSubmit={submit}>
        <h2 id={titleId}>{isNew ? 'Publish the new workflow' : 'Publish a new revision'}</h2>
        <p className="muted">{summary}</p>
        {isNew && (
          <div className={styles.field}>
            <label htmlFor={nameId}>Name</label>
            <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoFocus />
          </div>
        )}
        <div className={styles.field}>
          <label htmlFor={messageId}>Message: what changed and why</label>
          <textarea id={messageId} rows={3} value={message} onChange={(e) => setMessage(e.target.value)} autoFocus={!isNew} />
        </div>
        {error !== null && error !== undefined && <Message>{errorMessage(error)}</Message>}
        <div className={styles.dialogButtons}>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || (isNew && !name.trim())}>
            {busy ? 'Publishing…' : 'Publish'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
