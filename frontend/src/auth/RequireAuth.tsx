import { Navigate, Outlet, useLocation } from 'react-router';
import { Loading } from '../components/Loading/Loading';
import { useAuth } from './AuthProvider';

/** Pages behind login: a visitor without a session goes to /login and comes back here afterwards. */
export function RequireAuth() {
  const { status, loggedOut } = useAuth();
  const location = useLocation();
  if (status === 'checking') return <Loading label="Checking your session" />;
  if (status === 'out' && loggedOut) return <Navigate to="/login" replace />;
  if (status === 'out') {
    const back = location.pathname + location.search + location.hash;
    return <Navigate to={`/login${back !== '/' ? `?next=${encodeURIComponent(back)}` : ''}`} replace />;
  }
  return <Outlet />;
}

/** /login and /signup: someone already logged in goes straight on. */
export function RedirectIfAuthenticated() {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'checking') return <Loading label="Checking your session" />;
  if (status === 'in') return <Navigate to={safeNext(new URLSearchParams(location.search).get('next'))} replace />;
  return <Outlet />;
}

/** Only same-site paths: `?next=https://evil.example` must not become an open redirect. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}
