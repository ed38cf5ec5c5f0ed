// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, expect, it, vi } from 'vitest';
import { ApiError } from '../../api/errors';
import { RouteError } from './RouteError';

afterEach(cleanup);

function Broken({ error }: { error: unknown }): never {
  throw error;
}

function renderThrowing(error: unknown) {
  // React logs the caught error; the test is about what the person sees instead.
  vi.spyOn(console, 'error').mockImplementation(() => {});
  const router = createMemoryRouter([{ path: '/', element: <Broken error={error} />, errorElement: <RouteError /> }]);
  render(<RouterProvider router={router} />);
}

it('a page that throws shows a message, a reload button and a way home, never a blank page', () => {
  renderThrowing(new Error('Cannot read properties of undefined'));
  expect(screen.getByRole('alert').textContent).toContain('Something went wrong on this page');
  expect(screen.getByRole('alert').textContent).toContain('Cannot read properties of undefined');
  expect(screen.getByRole('button', { name: 'Reload the page' })).toBeTruthy();
  expect(screen.getByRole('link', { name: 'go to your workflows' }).getAttribute('href')).toBe('/');
  expect(document.title).toBe('Something went wrong · Nodeworks');
});

it("an API error keeps the server's message", () => {
  renderThrowing(new ApiError(404, 'No workflow 7.', { detail: 'No workflow 7.' }));
  expect(screen.getByRole('alert').textContent).toContain('No workflow 7.');
});
