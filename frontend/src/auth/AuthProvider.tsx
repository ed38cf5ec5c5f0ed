import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { onAccessChange, tokens } from '../api/client';
import * as session from './session';

export type AuthStatus = 'checking' | 'in' | 'out';

export interface AuthValue {
  status: AuthStatus;
  username: string | null;
  /** True once this tab logged out on purpose: the next page is a plain /login, not "log in to see X". */
  loggedOut: boolean;
  login: (username: string, password: string) => Promise<void>;
  signup: (username: string, email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<AuthStatus>(() => (tokens.get() ? 'in' : 'checking'));
  const [username, setUsername] = useState<string | null>(() => session.rememberedUsername());
  const [loggedOut, setLoggedOut] = useState(false);

  useEffect(() => {
    const unsubscribe = onAccessChange((access) => {
      setStatus(access ? 'in' : 'out');
      if (!access) {
        // Another user may log in next in this tab: nothing cached may leak across.
        queryClient.clear();
      }
      setUsername(session.rememberedUsername());
    });
    // StrictMode mounts twice; the token manager's single in-flight refresh makes that one request.
    void session.restoreSession().then((ok) => setStatus(ok ? 'in' : 'out'));

    // Tabs share the refresh cookie. When another tab logs out, or logs in as someone else, this tab must
    // not go on showing (or, after its next renewal, acting on) the previous user's data.
    function onStorage(event: StorageEvent) {
      if (event.key !== session.USERNAME_KEY || event.newValue === event.oldValue) return;
      tokens.set(null);
      if (event.newValue) void session.restoreSession();
    }
    window.addEventListener('storage', onStorage);
    return () => {
      unsubscribe();
      window.removeEventListener('storage', onStorage);
    };
  }, [queryClient]);

  const login = useCallback(async (name: string, password: string) => {
    await session.login(name, password);
    setUsername(name);
    setLoggedOut(false);
  }, []);
  const signup = useCallback(async (name: string, email: string, password: string) => {
    await session.signup(name, email, password);
    setUsername(name);
    setLoggedOut(false);
  }, []);
  const logout = useCallback(async () => {
    setLoggedOut(true);
    await session.logout();
  }, []);

  const value = useMemo(
    () => ({ status, username, loggedOut, login, signup, logout }),
    [status, username, loggedOut, login, signup, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth needs an <AuthProvider>');
  return value;
}
