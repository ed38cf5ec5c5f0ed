import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ApiError, errorMessage } from '../../api/client';
import { formatWait } from '../../api/errors';
import { useAuth } from '../../auth/AuthProvider';
import { safeNext } from '../../auth/RequireAuth';
import { Field } from '../../components/Form/Field';
import { Message } from '../../components/Message/Message';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { AuthCard, authCardStyles as styles } from './AuthCard';

/** What a failed login tells the person: wrong credentials and throttling in their own words. */
export function loginErrorMessage(error: unknown, waitS?: number): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return 'Wrong username or password.';
    if (error.status === 429) {
      if (waitS === undefined) return error.message;
      return waitS > 0 ? `Too many attempts. Try again in ${formatWait(waitS)}.` : 'You can try again now.';
    }
  }
  return errorMessage(error);
}

interface Countdown {
  untilMs: number;
  leftS: number;
}

/** A countdown to the end of a 429's Retry-After, ticking once a second. */
function useRetryCountdown() {
  const [countdown, setCountdown] = useState<Countdown | null>(null);
  const untilMs = countdown?.untilMs;
  useEffect(() => {
    if (untilMs === undefined) return;
    const timer = setInterval(() => {
      const leftS = Math.max(0, Math.ceil((untilMs - Date.now()) / 1000));
      setCountdown((current) => (current ? { ...current, leftS } : current));
      if (leftS === 0) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [untilMs]);
  const start = (seconds: number | undefined) =>
    setCountdown(seconds === undefined ? null : { untilMs: Date.now() + seconds * 1000, leftS: seconds });
  return [countdown?.leftS, start] as const;
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
  const [waitS, startCountdown] = useRetryCountdown();
  const throttled = waitS !== undefined && waitS > 0;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (throttled) return;
    setBusy(true);
    setError(null);
    startCountdown(undefined);
    try {
      await login(username, password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && err.status === 429) startCountdown(err.retryAfterS);
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
        <Message testId="login-error">{loginErrorMessage(error, waitS)}</Message>
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
        <button type="submit" className={`primary ${styles.submit}`} disabled={busy || throttled || !username || !password}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </AuthCard>
  );
}
