/** Session hooks for components: the state lives in AuthProvider, the requests in auth/session. */
export { useAuth, type AuthStatus, type AuthValue } from '../auth/AuthProvider';
