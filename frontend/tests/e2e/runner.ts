/**
 * Real runner processes for the specs: registered with the user's personal API token through the API,
 * then `.venv/bin/nodeworks-runner run` with the runner token, its own config, state and work dirs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, VENV_BIN } from './paths';
import { killGroups, readServerState } from './server';

export interface StartRunnerOptions {
  /** The user's personal API token (nwu_...), as the Tokens page shows it. */
  token: string;
  name: string;
  executors?: string[];
  tags?: string[];
}

export interface RunningRunner {
  id: number;
  name: string;
  pid: number;
  logFile: string;
  /** SIGTERM (the runner finishes its tasks), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** The runner's output so far (for failure messages). */
  log(): string;
}

export async function startRunner({ token, name, executors = ['local', 'shell'], tags = [] }: StartRunnerOptions): Promise<RunningRunner> {
  const server = readServerState();
  const response = await fetch(`${server.baseURL}/api/v1/runners/register`, {
    method: 'POST',
    headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, executors, tags }),
  });
  if (response.status !== 201) {
    throw new Error(`registering runner ${name} failed: HTTP ${response.status} ${await response.text()}`);
  }
  const registered = (await response.json()) as { id: number; token: string };

  const home = fs.mkdtempSync(path.join(server.dataDir, `runner-${name.replace(/[^\w.-]/g, '_')}-`));
  const logFile = path.join(home, 'runner.log');
  const log = fs.openSync(logFile, 'a');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('NODEWORKS_RUNNER_')) env[key] = value;
  }
  Object.assign(env, {
    NODEWORKS_RUNNER_URL: server.baseURL,
    NODEWORKS_RUNNER_TOKEN: registered.token,
    // Its own (absent) config file: nothing from ~/.config leaks into a test runner.
    NODEWORKS_RUNNER_CONFIG: path.join(home, 'config.json'),
    PYTHONUNBUFFERED: '1',
  });
  const child = spawn(
    path.join(VENV_BIN, 'nodeworks-runner'),
    [
      'run',
      '--name', name,
      '--executors', executors.join(','),
      ...(tags.length ? ['--tags', tags.join(',')] : []),
      '--state-dir', path.join(home, 'state'),
      '--work-dir', path.join(home, 'work'),
      '--lease-wait', '5',
      '--log-interval', '0.5',
      '-v',
    ],
    { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  child.unref();
  const pid = child.pid!;
  const pidFile = path.join(server.runnerPidDir, `${pid}.pid`);
  fs.writeFileSync(pidFile, String(pid));

  return {
    id: registered.id,
    name,
    pid,
    logFile,
    async stop() {
      await killGroups([pid]);
      fs.rmSync(pidFile, { force: true });
    },
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
  };
}
