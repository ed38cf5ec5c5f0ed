import { useState, type ChangeEvent, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router';
import { ApiError, errorMessage } from '../../api/client';
import { useAuth } from '../../auth/AuthProvider';
import { safeNext } from '../../auth/RequireAuth';
import { Field } from '../../components/Form/Field';
import { Message } from '../../components/Message/Message';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { AuthCard, authCardStyles as styles } from '../Login/AuthCard';

const FIELDS = ['username', 'email', 'password'] as const;

export function SignupPage() {
  useDocumentTitle('Sign up');
  const { signup } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [values, setValues] = useState({ username: '', email: '', password: '' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signup(values.username, values.email, values.password);
      navigate(safeNext(new URLSearchParams(location.search).get('next')), { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  // Field errors show under their field; anything else (throttling, a field this form lacks) shows on top.
  const shownUnderFields = FIELDS.some((name) => fieldErrors[name]?.length);
  const update = (name: (typeof FIELDS)[number]) => (e: ChangeEvent<HTMLInputElement>) =>
    setValues((v) => ({ ...v, [name]: e.target.value }));

  return (
    <AuthCard
      title="Create an account"
      footer={
        <>
          Already have one? <Link to={`/login${location.search}`}>Log in</Link>
        </>
      }
    >
      {error !== null && !shownUnderFields && <Message testId="signup-error">{errorMessage(error)}</Message>}
      <form onSubmit={onSubmit} noValidate>
        <Field
          label="Username"
          name="username"
          autoComplete="username"
          autoFocus
          required
          hint="Letters, digits and @ . + - _"
          value={values.username}
          onChange={update('username')}
          errors={fieldErrors.username}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          value={values.email}
          onChange={update('email')}
          errors={fieldErrors.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          value={values.password}
          onChange={update('password')}
          errors={fieldErrors.password}
        />
        <button
          type="submit"
          className={`primary ${styles.submit}`}
          disabled={busy || !values.username || !values.email || !values.password}
        >
          {busy ? 'Creating your account…' : 'Create account'}
        </button>
      </form>
    </AuthCard>
  );
}
