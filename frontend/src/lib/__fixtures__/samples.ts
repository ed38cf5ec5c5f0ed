/// <reference types="node" />
/**
 * The real Nodeworks sample files, which are not in the repository: they sit beside a clone as
 * `../shared/nodeworks-samples/` (NODEWORKS_SHARED_DIR points elsewhere), as for tests/shared_samples.py.
 * Without them a test skips; under CI=true `requireSamples` makes a failing test instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
export const SAMPLE_NAMES = ['demo.nc', 'demo1.nc', 'demo2.nc', 'node_ex.nc'] as const;
export const samplesDir = join(process.env.NODEWORKS_SHARED_DIR ?? resolve(here, '../../../../../shared'), 'nodeworks-samples');
export const samplesPresent = SAMPLE_NAMES.every((name) => existsSync(join(samplesDir, name)));

export function readSample(name: string): { text: string; json: Record<string, unknown> } {
  const text = readFileSync(join(samplesDir, name), 'utf8');
  return { text, json: JSON.parse(text) as Record<string, unknown> };
}

export function readFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(here, name), 'utf8')) as Record<string, unknown>;
}

/** Call inside a describe: under CI=true, missing samples are a failing test, never a silent skip. */
export function requireSamples(): void {
  if (!samplesPresent && process.env.CI === 'true') {
    it('has the Nodeworks samples (CI=true)', () => {
      throw new Error(`CI=true: the Nodeworks sample files are missing at ${samplesDir} (set NODEWORKS_SHARED_DIR)`);
    });
  }
}
