import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { errorMessage } from '../../api/client';
import { Message } from '../Message/Message';
import styles from './ConfirmDialog.module.css';

export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  /** The button that closes without acting ("Cancel" reads badly next to "Cancel everything"). */
  dismissLabel?: string;
  /** When given, the confirm button stays disabled until exactly this is typed (deleting by name). */
  requireText?: string;
  busy?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}

/** A modal (native <dialog>: focus is trapped, Escape cancels) for actions that cannot be undone. */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  dismissLabel = 'Cancel',
  requireText,
  busy = false,
  error,
  onConfirm,
  onCancel,
}: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  const titleId = useId();
  const inputId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      setTyped('');
      dialog.showModal();
    } else if (!open && dialog.open) {
      dialog.close();
    }
  }, [open]);

  const matches = requireText === undefined || typed === requireText;

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (matches && !busy) onConfirm();
  }

  return (
    <dialog
      ref={ref}
      className={styles.dialog}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <form onSubmit={onSubmit}>
        <h2 id={titleId}>{title}</h2>
        <div className={styles.body}>{children}</div>
        {requireText !== undefined && (
          <div className={styles.confirmText}>
            <label htmlFor={inputId}>
              Type <strong className="mono">{requireText}</strong> to confirm
            </label>
            <input
              id={inputId}
              name="confirm"
              autoComplete="off"
              spellCheck={false}
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              autoFocus
            />
          </div>
        )}
        {error !== undefined && error !== null && <Message>{errorMessage(error)}</Message>}
        <div className={styles.buttons}>
          <button type="button" onClick={onCancel} disabled={busy} autoFocus={requireText === undefined}>
            {dismissLabel}
          </button>
          <button type="submit" className="danger solid" disabled={!matches || busy}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
