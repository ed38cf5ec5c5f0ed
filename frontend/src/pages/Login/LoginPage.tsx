import { useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ApiError, errorMessage } from '../../api/client';
import { useAuth } from '../../auth/AuthProvider';
import { safeNext } from '../../auth/RequireAuth';
import { Field } from '../../components/Form/Field';
import { Message } from '../../components/Message/Message';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { AuthCard, authCardStyles as styles } from './AuthCard';

/** What a failed login tells the person: wrong credentials and throttling in their own words. */
export function loginErrorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'Wrong username or password.';
    if (error.status === 429) return error.message;
  }
  return errorMessage(error);
}

export function LoginPage() {
  useDocumentTitle('Log in');
  const { login } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const next = safeNext(new URLSearchParams(location.search).get('next'));
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError && error.status === 400 ? error.fieldErrors : {};
  return (
    <AuthCard
      title="Log in"
      footer={
        <>
          New here? <Link to={`/signup${location.search}`}>Create an account</Link>
        </>
      }
    >
      {error !== null && Object.keys(fieldErrors).length === 0 && (
        <Message testId="login-error">{loginErrorMessage(error)}</Message>
      )}
      <form onSubmit={onSubmit} noValidate>
        <Field
          label="Username"
          name="username"
          autoComplete="username"
          autoFocus
          required
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          errors={fieldErrors.username}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          errors={fieldErrors.password}
        />
        <button type="submit" className={`primary ${styles.submit}`} disabled={busy || !username || !password}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </AuthCard>
  );
}
