/**
 * What every browser spec uses: `test` with the running server's base URL and a `startRunner` fixture
 * (runners it starts are stopped after the test), screenshots, unique users, and API shortcuts for specs
 * that need a logged-in user or a token without clicking through the forms.
 */
import { test as base, expect, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PYTHON, REPO_ROOT, SCREENSHOT_DIR } from './paths';
import { startRunner, type RunningRunner, type StartRunnerOptions } from './runner';
import { readServerState, type ServerState } from './server';

export { expect };
export type { RunningRunner, StartRunnerOptions };

interface Fixtures {
  server: ServerState;
  startRunner: (options: StartRunnerOptions) => Promise<RunningRunner>;
}

export const test = base.extend<Fixtures>({
  // eslint-disable-next-line no-empty-pattern
  server: async ({}, use) => {
    await use(readServerState());
  },
  baseURL: async ({ server }, use) => {
    await use(server.baseURL);
  },
  // eslint-disable-next-line no-empty-pattern
  startRunner: async ({}, use, testInfo) => {
    const started: RunningRunner[] = [];
    await use(async (options) => {
      const runner = await startRunner(options);
      started.push(runner);
      return runner;
    });
    if (testInfo.status !== testInfo.expectedStatus) {
      for (const runner of started) await testInfo.attach(`runner ${runner.name} log`, { body: runner.log() });
    }
    await Promise.all(started.map((runner) => runner.stop()));
  },
});

/** A full-page screenshot at test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export interface TestUser {
  username: string;
  email: string;
  password: string;
}

export function newUser(prefix = 'user'): TestUser {
  const username = uniqueName(prefix);
  // Django refuses passwords similar to the username: a random one.
  return { username, email: `${username}@example.org`, password: `Qv7!${Math.random().toString(36).slice(2, 10)}-horse-battery` };
}

async function post(baseURL: string, pathName: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${baseURL}/api/v1/${pathName}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${pathName}: HTTP ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Registers a user through the API (no browser). */
export async function apiSignup(baseURL: string, user: TestUser = newUser()): Promise<TestUser> {
  await post(baseURL, 'register', user);
  return user;
}

/** A personal API token (nwu_...) for `user`, through the API. */
export async function apiCreateToken(baseURL: string, user: TestUser, name = 'e2e'): Promise<string> {
  const { access } = await post(baseURL, 'login', { username: user.username, password: user.password });
  const created = await post(baseURL, 'token', { name }, { Authorization: `Bearer ${access}` });
  return created.token as string;
}

async function tokenRequest(baseURL: string, token: string, pathName: string, body: unknown) {
  return post(baseURL, pathName, body, { Authorization: `Token ${token}` });
}

/** Publishes a workflow object through the API; returns its id. */
export async function apiPublish(
  baseURL: string,
  token: string,
  name: string,
  workflow: Record<string, unknown>,
  requirements?: Record<string, unknown>,
): Promise<number> {
  const published = await tokenRequest(baseURL, token, 'workflow/publish', { name, workflow, ...(requirements ? { requirements } : {}) });
  return published.id as number;
}

/** Starts a run of the latest revision; returns the run id. */
export async function apiExecute(baseURL: string, token: string, workflowId: number, inputs: Record<string, unknown> = {}): Promise<number> {
  const answer = await tokenRequest(baseURL, token, `workflow/execute/${workflowId}`, { inputs });
  return answer.run.id as number;
}

/** Makes an existing user an administrator (is_staff), straight in the server's database. */
export function makeStaff(username: string): void {
  const server = readServerState();
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== 'DATABASE_URL') env[key] = value;
  }
  env.NODEWORKS_DATA_DIR = server.dataDir;
  const code = `from django.contrib.auth.models import User; assert User.objects.filter(username=${JSON.stringify(username)}).update(is_staff=True) == 1`;
  const result = spawnSync(PYTHON, ['manage.py', 'shell', '-c', code], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`making ${username} staff failed:\n${result.stderr}`);
}
