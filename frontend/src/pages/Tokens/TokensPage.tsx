import { useId, useState, type FormEvent } from 'react';
import { errorMessage } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog/ConfirmDialog';
import { CopyButton } from '../../components/CopyButton/CopyButton';
import { Loading } from '../../components/Loading/Loading';
import { Message } from '../../components/Message/Message';
import { PageHeader } from '../../components/PageHeader/PageHeader';
import { Time } from '../../components/Time/Time';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { useCreateToken, useRevokeToken, useTokens, type ApiToken, type CreatedToken } from '../../queries/tokens';
import styles from './TokensPage.module.css';

/** The exact header line a script or the runner's `register` uses. */
export function authorizationLine(token: string): string {
  return `Authorization: Token ${token}`;
}

export function TokensPage() {
  useDocumentTitle('API tokens');
  const tokens = useTokens();
  const create = useCreateToken();
  const revoke = useRevokeToken();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const nameId = useId();

  function onCreate(event: FormEvent) {
    event.preventDefault();
    create.mutate(name.trim(), {
      onSuccess: (token) => {
        setCreated(token);
        setName('');
      },
    });
  }

  function closeRevoke() {
    setRevoking(null);
    revoke.reset();
  }

  return (
    <>
      <PageHeader
        title="API tokens"
        subtitle="Personal tokens let scripts, curl and nodeworks-runner register act as you. Treat them like passwords."
      />
      <form className={styles.create} onSubmit={onCreate} aria-label="Create a token">
        <div className={styles.field}>
          <label htmlFor={nameId}>Token name</label>
          <input
            id={nameId}
            name="token-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="for example: laptop runner"
            maxLength={100}
          />
        </div>
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create token'}
        </button>
      </form>
      {create.isError && <Message>Could not create the token: {errorMessage(create.error)}</Message>}
      {created && (
        <section className={styles.created} data-testid="created-token" aria-labelledby="created-title">
          <h2 id="created-title">Your new token{created.name ? ` “${created.name}”` : ''}</h2>
          <p>
            <strong>Copy it now: it is shown only once.</strong> Only a digest is kept on the server, so it cannot be
            shown again. Use it in the <code>Authorization</code> header:
          </p>
          <div className={styles.secretRow}>
            <code className={styles.secret} data-testid="token-line">
              {authorizationLine(created.token)}
            </code>
            <CopyButton text={authorizationLine(created.token)} label="Copy line" />
          </div>
          <div className={styles.secretRow}>
            <code className={styles.secret} data-testid="token-value">
              {created.token}
            </code>
            <CopyButton text={created.token} label="Copy token" />
          </div>
          <p className="muted">
            For example: <code>curl -H &quot;{authorizationLine('nwu_…')}&quot; {window.location.origin}/api/v1/workflow/</code>
          </p>
          <button type="button" onClick={() => setCreated(null)}>
            I have saved it
          </button>
        </section>
      )}
      <h2>Your tokens</h2>
      {tokens.isPending && <Loading label="Loading tokens" />}
      {tokens.isError && <Message>Could not load your tokens: {errorMessage(tokens.error)}</Message>}
      {tokens.data && tokens.data.length === 0 && (
        <p className="muted" data-testid="tokens-empty">
          You have no tokens yet. Create one above to use the API from a script or to register a runner.
        </p>
      )}
      {tokens.data && tokens.data.length > 0 && (
        <table data-testid="tokens-table" className={styles.table}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Starts with</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.map((token) => (
              <tr key={token.id} data-testid="token-row" data-token-name={token.name}>
                <td>{token.name || <span className="muted">(no name)</span>}</td>
                <td>
                  <code>{token.hint}…</code>
                </td>
                <td>
                  <Time iso={token.created} />
                </td>
                <td>
                  <Time iso={token.last_used} fallback="never" />
                </td>
                <td className={styles.actions}>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => setRevoking(token)}
                    aria-label={`Revoke ${token.name || token.hint}`}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking?.name || 'this token'}?`}
        confirmLabel="Revoke token"
        busy={revoke.isPending}
        error={revoke.error}
        onCancel={closeRevoke}
        onConfirm={() => revoking && revoke.mutate(revoking.id, { onSuccess: closeRevoke })}
      >
        <p>
          Scripts using the token starting <code>{revoking?.hint}</code> stop working at once. Runners registered with it
          keep their own runner tokens.
        </p>
      </ConfirmDialog>
    </>
  );
}
