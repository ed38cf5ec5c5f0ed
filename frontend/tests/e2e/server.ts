/**
 * The real server for the browser specs: migrate a fresh SQLite database in a temp DATA_DIR, then
 * gunicorn (gthread, as run.sh) on a free port and the django-q2 worker, each in its own process
 * group so teardown stops their workers too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FRONTEND_DIR, PYTHON, REPO_ROOT, VENV_BIN } from './paths';

/** Global setup hands the server's state to the workers in this variable (they inherit its environment). */
export const SERVER_STATE_ENV = 'NODEWORKS_E2E_SERVER';

export interface ServerState {
  baseURL: string;
  dataDir: string;
  /** Process group ids of the server's processes. */
  pids: number[];
  /** Where runner pid files go, so global teardown stops runners a crashed worker left behind. */
  runnerPidDir: string;
  /** The environment the server processes were given (runners reuse the relevant parts). */
  env: Record<string, string>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function serverEnv(dataDir: string, dist: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== 'DATABASE_URL') env[key] = value;
  }
  return {
    ...env,
    NODEWORKS_DATA_DIR: dataDir,
    NODEWORKS_FRONTEND_DIST: dist,
    // As deployed, minus TLS: DEBUG off, so the app is served by WhiteNoise from the built files.
    DEBUG: '0',
    // Every spec signs up and logs in; the real limits would throttle a test run, not a person.
    NODEWORKS_LOGIN_RATE: '500/min',
    NODEWORKS_REGISTER_RATE: '5000/hour',
    NODEWORKS_Q_WORKERS: '1',
    NODEWORKS_REAPER_INTERVAL_S: '2',
    // A runner counts as offline after two missed heartbeats: 10 s here instead of 30 s.
    NODEWORKS_HEARTBEAT_INTERVAL_S: '5',
    // One-minute access tokens: the app renews them every 30 s, so every spec also exercises the quiet
    // renewal and the cookie rotation behind it.
    JWT_ACCESS_MINUTES: '1',
    LOG_LEVEL: 'WARNING',
    PYTHONUNBUFFERED: '1',
  };
}

function spawnLogged(command: string, args: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const log = fs.openSync(logFile, 'a');
  // detached: its own process group, so killing -pid stops gunicorn's and qcluster's workers too.
  const child = spawn(command, args, { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  child.unref();
  return child;
}

async function waitForServer(baseURL: string, logFile: string, child: ChildProcess, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${baseURL}/api/v1/status`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-3000) : '';
  throw new Error(`the server did not answer at ${baseURL} within ${timeoutMs / 1000} s. Its log:\n${tail}`);
}

export async function startServer(): Promise<ServerState> {
  if (!fs.existsSync(PYTHON)) {
    throw new Error(`${PYTHON} is missing: create the virtualenv first (source scripts/ensure-venv.sh && ensure_venv)`);
  }
  if (!fs.existsSync(path.join(FRONTEND_DIR, 'dist', 'index.html'))) {
    throw new Error('frontend/dist is not built: run scripts/build-frontend.sh (scripts/test-frontend.sh does)');
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeworks-e2e-'));
  // A copy of the built app: with DEBUG off WhiteNoise lists the files once at start, so a rebuild of
  // frontend/dist during the run (another terminal, the dev loop) would leave the server pointing at
  // assets that are gone.
  const dist = path.join(dataDir, 'dist');
  fs.cpSync(path.join(FRONTEND_DIR, 'dist'), dist, { recursive: true });
  const env = serverEnv(dataDir, dist);
  const migrate = spawnSync(PYTHON, ['manage.py', 'migrate', '--no-input', '-v0'], { cwd: REPO_ROOT, env, encoding: 'utf8' });
  if (migrate.status !== 0) throw new Error(`migrate failed:\n${migrate.stdout}\n${migrate.stderr}`);

  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const serverLog = path.join(dataDir, 'gunicorn.log');
  // --keep-alive 5: longer than the 4 s for which Node's fetch (undici) keeps an idle connection. With
  // gunicorn's default of 2 s, a spec's API call after 2 to 4 s of quiet went out on a connection the
  // server was closing and failed with "other side closed" (seen in CI).
  const gunicorn = spawnLogged(
    path.join(VENV_BIN, 'gunicorn'),
    ['nodeworks_server.wsgi:application', '--bind', `127.0.0.1:${port}`, '--workers', '2', '--worker-class', 'gthread', '--threads', '16',
      '--keep-alive', '5', '--access-logfile', '-'],
    env,
    serverLog,
  );
  const qcluster = spawnLogged(PYTHON, ['manage.py', 'qcluster'], env, path.join(dataDir, 'qcluster.log'));
  const runnerPidDir = path.join(dataDir, 'runner-pids');
  fs.mkdirSync(runnerPidDir);
  const state: ServerState = { baseURL, dataDir, pids: [gunicorn.pid!, qcluster.pid!], runnerPidDir, env: {} };
  try {
    await waitForServer(baseURL, serverLog, gunicorn);
  } catch (error) {
    await stopServer(state);
    throw error;
  }
  return state;
}

// Not a file: two runs in one checkout (two terminals) must not read or delete each other's server.
export function readServerState(): ServerState {
  const json = process.env[SERVER_STATE_ENV];
  if (!json) throw new Error(`${SERVER_STATE_ENV} is not set: the specs run through playwright.config.ts's global setup`);
  return JSON.parse(json) as ServerState;
}

/** SIGTERM to each process group, SIGKILL to what is still alive after `graceMs`. */
export async function killGroups(pids: number[], graceMs = 10_000): Promise<void> {
  const alive = (pid: number) => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

export async function stopServer(state: ServerState): Promise<void> {
  const runnerPids = fs.existsSync(state.runnerPidDir)
    ? fs.readdirSync(state.runnerPidDir).map((name) => Number(fs.readFileSync(path.join(state.runnerPidDir, name), 'utf8')))
    : [];
  await killGroups(runnerPids.filter((pid) => pid > 0));
  await killGroups(state.pids);
  if (process.env.NODEWORKS_E2E_KEEP) {
    console.log(`e2e: kept the server's data and logs in ${state.dataDir}`);
  } else {
    fs.rmSync(state.dataDir, { recursive: true, force: true });
  }
}
