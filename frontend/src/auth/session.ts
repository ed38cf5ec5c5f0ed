/** Log in, sign up and log out against the API; the token manager in api/client keeps the result. */
import { apiErrorFrom } from '../api/errors';
import { WEB_CLIENT_HEADER, apiFetch, apiUrl, tokens } from '../api/client';

/** Also the signal between tabs: its change in another tab means a logout or a different user. */
export const USERNAME_KEY = 'nodeworks.username';

/** The name shown in the menu. Not a secret, so it may outlive the in-memory token across reloads. */
export function rememberedUsername(): string | null {
  try {
    return localStorage.getItem(USERNAME_KEY);
  } catch {
    return null;
  }
}

function rememberUsername(username: string | null) {
  try {
    if (username) localStorage.setItem(USERNAME_KEY, username);
    else localStorage.removeItem(USERNAME_KEY);
  } catch {
    // Storage may be disabled (private mode); the menu then just shows "Account".
  }
}

async function postJson(path: string, body: unknown): Promise<Response> {
  const response = await fetch(apiUrl(path), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...WEB_CLIENT_HEADER, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await apiErrorFrom(response);
  return response;
}

/** Logs in; the server also sets the httpOnly refresh cookie that keeps the session across reloads. */
export async function login(username: string, password: string): Promise<void> {
  const response = await postJson('login', { username, password });
  const body = (await response.json()) as { access: string };
  rememberUsername(username);
  tokens.set(body.access);
}

export async function signup(username: string, email: string, password: string): Promise<void> {
  await postJson('register', { username, email, password });
  await login(username, password);
}

/** Logs out on the server (blacklists the refresh token, clears the cookie), then forgets the token here. */
export async function logout(): Promise<void> {
  try {
    await apiFetch('logout', { method: 'POST', headers: WEB_CLIENT_HEADER, body: '{}' });
  } catch {
    // Even if the server cannot be told, this tab forgets the session.
  } finally {
    rememberUsername(null);
    tokens.set(null);
  }
}

/** After a reload: trades the refresh cookie for an access token. Resolves true when a session exists. */
export async function restoreSession(): Promise<boolean> {
  if (tokens.get()) return true;
  return (await tokens.refresh()) !== null;
}
