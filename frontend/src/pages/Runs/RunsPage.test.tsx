// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { tokens } from '../../api/client';
import { RunsPage } from './RunsPage';

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
}

function run(id: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    state: 'succeeded',
    revision: 'abcdef0123456789abcdef0123456789abcdef01',
    created_by: 'ada',
    created: '2026-01-01T10:00:00Z',
    started: '2026-01-01T10:00:01Z',
    finished: '2026-01-01T10:00:05Z',
    duration_s: 4,
    counts: { succeeded: 3 },
    ...extra,
  };
}

const fetchMock = vi.fn<typeof fetch>();

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
  fetchMock.mockReset();
  const payload = btoa(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 900 }));
  tokens.set(`e30.${payload}.sig`);
});

afterEach(() => {
  cleanup();
  tokens.set(null);
  vi.unstubAllGlobals();
});

function renderRuns(path = '/workflows/1/runs') {
  const router = createMemoryRouter(
    [
      { path: '/workflows/:workflowId/runs', element: <RunsPage /> },
      { path: '/workflows/:workflowId/runs/:runId', element: <h1>Run page</h1> },
      { path: '/workflows/:workflowId', element: <h1>Workflow page</h1> },
    ],
    { initialEntries: [path] },
  );
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

it('pages through the runs, newest first, each row linking to its run page', async () => {
  fetchMock.mockImplementation(async (input) => {
    const url = String(input);
    if (url.includes('workflow/detail/1')) return json({ id: 1, name: 'sweep', revision: 'abc', node_count: 3, owner: 'ada' });
    const page = Number(new URL(url, 'http://x').searchParams.get('page'));
    const ids = page === 1 ? Array.from({ length: 25 }, (_, i) => 30 - i) : [5, 4, 3, 2, 1];
    return json({ count: 30, next: null, previous: null, results: ids.map((id) => run(id)) });
  });
  const router = renderRuns();
  expect(await screen.findByText('Runs of sweep')).toBeTruthy();
  expect(document.title).toBe('Runs of sweep · Nodeworks');
  expect(await screen.findByText('Page 1 of 2')).toBeTruthy();
  expect(screen.getAllByTestId('run-row')).toHaveLength(25);
  const first = screen.getAllByTestId('run-row')[0];
  expect(within(first).getByRole('link', { name: '#30' }).getAttribute('href')).toBe('/workflows/1/runs/30');
  expect(first.textContent).toContain('abcdef0');
  expect(first.textContent).toContain('ada');
  expect(first.textContent).toContain('4 s');
  expect(first.textContent).toContain('3 succeeded');
  // No estimates from this server: no column for them.
  expect(screen.queryByText('Estimated')).toBeNull();

  await act(async () => {
    fireEvent.click(screen.getByRole('button', { name: 'Older →' }));
  });
  expect(await screen.findByText('Page 2 of 2')).toBeTruthy();
  expect(router.state.location.search).toBe('?page=2');
  expect(screen.getAllByTestId('run-row')).toHaveLength(5);
  expect(fetchMock.mock.calls.some(([url]) => String(url).endsWith('workflow/runs/1?page=2&page_size=25'))).toBe(true);
});

it('shows estimates only when the API sends them, and a live run counts its duration so far', async () => {
  fetchMock.mockImplementation(async (input) => {
    const url = String(input);
    if (url.includes('workflow/detail/1')) return json({ id: 1, name: 'sweep', revision: 'abc', node_count: 3, owner: 'ada' });
    return json({
      count: 1,
      next: null,
      previous: null,
      results: [
        run(7, {
          state: 'running',
          finished: null,
          duration_s: null,
          counts: { succeeded: 1, running: 1, pending: 1 },
          estimated_finish: new Date(Date.now() + 120_000).toISOString(),
        }),
      ],
    });
  });
  renderRuns();
  const row = await screen.findByTestId('run-row');
  expect(screen.getByText('Estimated')).toBeTruthy();
  expect(within(row).getByTestId('run-estimates').textContent).toContain('in 2 minutes');
  expect(row.textContent).toContain('so far');
  expect(row.textContent).toContain('1 running');
});
