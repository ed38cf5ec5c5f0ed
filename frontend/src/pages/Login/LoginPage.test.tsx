// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../../auth/AuthProvider';
import { tokens } from '../../api/client';
import { SignupPage } from '../Signup/SignupPage';
import { LoginPage } from './LoginPage';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

const fetchMock = vi.fn<typeof fetch>();

function renderAt(path: string) {
  const router = createMemoryRouter(
    [
      { path: '/login', element: <LoginPage /> },
      { path: '/signup', element: <SignupPage /> },
      { path: '/', element: <h1>Home</h1> },
    ],
    { initialEntries: [path] },
  );
  render(
    <QueryClientProvider client={new QueryClient()}>
      <AuthProvider>
        <RouterProvider router={router} />
      </AuthProvider>
    </QueryClientProvider>,
  );
  return router;
}

async function submitLogin() {
  fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'ada' } });
  fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'secret-password' } });
  await act(async () => {
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
  });
}

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
  fetchMock.mockReset();
  // The session restore on mount: no cookie, so 401 (twice: the rotation retry).
  fetchMock.mockImplementation(async (input) =>
    String(input).endsWith('token/refresh') ? json(401, { detail: 'no session' }) : json(500, {}),
  );
});

afterEach(() => {
  cleanup();
  tokens.set(null);
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('LoginPage', () => {
  it('says "Wrong username or password." for a 401', async () => {
    renderAt('/login');
    fetchMock.mockImplementation(async () => json(401, { detail: 'No active account found with the given credentials' }));
    await submitLogin();
    expect(await screen.findByTestId('login-error')).toHaveProperty('textContent', 'Wrong username or password.');
  });

  it('on a 429 says when to retry, counts down from Retry-After, and keeps the button disabled until then', async () => {
    renderAt('/login');
    fetchMock.mockImplementation(async () => json(429, { detail: 'Request was throttled.' }, { 'Retry-After': '2' }));
    await submitLogin();
    const message = await screen.findByTestId('login-error');
    expect(message.textContent).toBe('Too many attempts. Try again in 2 seconds.');
    const button = screen.getByRole('button', { name: 'Log in' });
    expect(button).toHaveProperty('disabled', true);
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 2100));
    });
    expect(screen.getByTestId('login-error').textContent).toBe('You can try again now.');
    expect(button).toHaveProperty('disabled', false);
  }, 10_000);

  it('logs in with the web client header and goes where the visitor was going', async () => {
    const router = renderAt('/login?next=%2Fqueue');
    const payload = btoa(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 900 }));
    fetchMock.mockImplementation(async () => json(200, { access: `e30.${payload}.sig` }));
    await submitLogin();
    const [url, init] = fetchMock.mock.calls.at(-1)!;
    expect(url).toBe('/api/v1/login');
    expect(new Headers(init?.headers).get('X-Nodeworks-Client')).toBe('web');
    expect(JSON.parse(String(init?.body))).toEqual({ username: 'ada', password: 'secret-password' });
    expect(router.state.location.pathname).toBe('/queue');
  });
});

describe('SignupPage', () => {
  it("shows the API's field errors under the fields they name", async () => {
    renderAt('/signup');
    fetchMock.mockImplementation(async () =>
      json(400, {
        detail: 'username: This username is taken.',
        errors: { username: ['This username is taken.'], password: ['This password is too common.'] },
      }),
    );
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'ada' } });
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'ada@example.org' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'password' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Create account' }));
    });
    expect((await screen.findByTestId('username-errors')).textContent).toBe('This username is taken.');
    expect(screen.getByTestId('password-errors').textContent).toBe('This password is too common.');
    expect(screen.getByLabelText('Username').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByLabelText('Email').getAttribute('aria-invalid')).toBeNull();
    // Shown under the fields, so not repeated on top.
    expect(screen.queryByTestId('signup-error')).toBeNull();
  });
});
