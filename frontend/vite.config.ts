/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dev server proxies the API so the app and Django share one origin: no CORS, and the
// SameSite=Strict refresh cookie reaches /api/v1/token/refresh exactly as in production.
const apiTarget = process.env.NODEWORKS_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: false,
    // The elk layout worker alone is ~1.4 MB (it loads only with a graph page).
    chunkSizeWarningLimit: 1500,
    // Timing warnings measure the machine's load more than the plugins; the sizes printed by
    // scripts/build-frontend.sh are what to watch.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  worker: {
    format: 'es',
  },
  test: {
    globals: true,
    // Pure modules run in node (fast); a component test opts in with a `// @vitest-environment happy-dom` line.
    environment: 'node',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
