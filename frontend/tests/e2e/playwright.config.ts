import { defineConfig } from '@playwright/test';
import path from 'node:path';
import { CHROMIUM, E2E_DIR, RESULTS_DIR } from './paths';

// Debian's chromium, never a downloaded browser (none can be downloaded on these machines).
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export default defineConfig({
  testDir: E2E_DIR,
  testMatch: '*.spec.ts',
  globalSetup: path.join(E2E_DIR, 'global-setup.ts'),
  outputDir: path.join(RESULTS_DIR, 'playwright'),
  // One server, and specs that start runner processes: two cores do not gain from parallel workers.
  workers: 1,
  fullyParallel: false,
  forbidOnly: process.env.CI === 'true',
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.NODEWORKS_E2E_URL,
    headless: true,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'off',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
});
