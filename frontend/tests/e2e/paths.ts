/** Where things are, resolved from this file so the specs run from any working directory. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = path.dirname(fileURLToPath(import.meta.url));
export const FRONTEND_DIR = path.resolve(E2E_DIR, '../..');
export const REPO_ROOT = path.resolve(FRONTEND_DIR, '..');
export const VENV_BIN = path.join(REPO_ROOT, '.venv', 'bin');
export const PYTHON = path.join(VENV_BIN, 'python');
export const RESULTS_DIR = path.join(FRONTEND_DIR, 'test-results');
export const SCREENSHOT_DIR = path.join(RESULTS_DIR, 'screenshots');
export const CHROMIUM = process.env.NODEWORKS_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** A sample from the shared folder beside the repository (not part of the repo: may be missing). */
export function sharedSample(name: string): string {
  return path.resolve(REPO_ROOT, '..', 'shared', 'nodeworks-samples', name);
}
