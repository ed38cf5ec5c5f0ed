import type { FullConfig } from '@playwright/test';
import { SERVER_STATE_ENV, startServer, stopServer } from './server';

/** One real server for the whole run; the returned function is Playwright's teardown. */
export default async function globalSetup(_config: FullConfig) {
  const state = await startServer();
  // Workers start after this and inherit the environment.
  process.env[SERVER_STATE_ENV] = JSON.stringify(state);
  process.env.NODEWORKS_E2E_URL = state.baseURL;
  console.log(`e2e: server at ${state.baseURL} (data in ${state.dataDir})`);
  return async () => {
    await stopServer(state);
  };
}
