#!/usr/bin/env node
/**
 * Web app benchmark (not a timed test): opens 500, 2,000 and 5,000-node workflows in chromium and prints
 * the time to first render of the graph and the frames per second while panning it.
 *
 *   node bench/web_graph.mjs [--sizes 500,2000,5000] [--pan-ms 3000] [--json out.json] [--screenshots DIR]
 *
 * Needs the built app (scripts/build-frontend.sh), the venv (.venv) and Debian's chromium at /usr/bin/chromium
 * (override with NODEWORKS_E2E_CHROMIUM). It starts its own gunicorn on a free port with a fresh SQLite
 * database in a temp directory, publishes the generated workflows through the API, logs in through the
 * login page, and for each size:
 *   - "first render": from page.goto() of /workflows/<id> to the first graph node in the DOM (performance.now()
 *     in the page, i.e. from navigation start; the app's JS, the .nc download and parse, the canvas);
 *   - "all drawn": until the canvas has fitted the view and its nodes are drawn (two animation frames later);
 *   - pan FPS: requestAnimationFrame callbacks counted in the page while the mouse drags the canvas in a
 *     steady back-and-forth for --pan-ms (the mouse moves from Node via CDP, as a person's would), with the
 *     longest frame; at the initial (fitted) zoom, then at zoom 1 (reading distance).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { chromium } = await import(path.join(REPO, 'frontend', 'node_modules', 'playwright-core', 'index.mjs'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const SIZES = arg('sizes', '500,2000,5000').split(',').map(Number);
const PAN_MS = Number(arg('pan-ms', '3000'));
const JSON_OUT = arg('json', null);
const SHOTS = arg('screenshots', null);
const CHROMIUM = process.env.NODEWORKS_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** A layered DAG: columns of 40 nodes, each node fed by one or two nodes of the previous column. */
export function generateWorkflow(n) {
  const perColumn = 40;
  const nc = {};
  const term = (inp, out, multi = false, value = null) => ({
    value,
    flipped: false,
    opts: { in: inp, out, multiinput: multi, dtype: "<class 'float'>", widget: 'lineedit', showlabel: true },
  });
  let c = 0;
  for (let i = 0; i < n; i++) {
    const col = Math.floor(i / perColumn);
    const row = i % perColumn;
    const id = `node${i}`;
    nc[id] = {
      type: 'Node',
      name: col === 0 ? `Source ${i}` : `Add ${i}`,
      uniquename: id,
      pos: [col * 320, row * 150],
      path: col === 0 ? ['types', 'Float'] : ['math', 'Add'],
      terminals:
        col === 0
          ? { float: term(false, true, false, i) }
          : { a: term(true, false, true), b: term(true, false), result: term(false, true) },
      tunnel: false,
      forcerun: false,
      hidden: false,
      customState: null,
      layer: 0,
    };
    if (col > 0) {
      const src = (col - 1) * perColumn + row;
      const outName = col === 1 ? 'float' : 'result';
      nc[`c${c}`] = { type: 'Connection', name: `c${c}`, uniquename: `c${c}`, line: 'cubic', input: [`node${src}`, outName], output: [id, 'a'], controlpoints: [] };
      c++;
      if (row + 1 < perColumn && src + 1 < i - row) {
        nc[`c${c}`] = { type: 'Connection', name: `c${c}`, uniquename: `c${c}`, line: 'cubic', input: [`node${src + 1}`, outName], output: [id, 'b'], controlpoints: [] };
        c++;
      }
    }
  }
  return nc;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function api(base, method, pathName, body, token) {
  const response = await fetch(`${base}/api/v1/${pathName}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${pathName}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

async function main() {
  if (!fs.existsSync(path.join(REPO, 'frontend', 'dist', 'index.html'))) throw new Error('frontend/dist is missing: run scripts/build-frontend.sh first');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nw-web-bench-'));
  const env = {
    ...process.env,
    NODEWORKS_DATA_DIR: dataDir,
    DEBUG: '0',
    NODEWORKS_LOGIN_RATE: '1000/min',
    NODEWORKS_REGISTER_RATE: '1000/hour',
    LOG_LEVEL: 'WARNING',
  };
  delete env.DATABASE_URL;
  const python = path.join(REPO, '.venv', 'bin', 'python');
  const migrate = spawnSync(python, ['manage.py', 'migrate', '--no-input', '-v0'], { cwd: REPO, env, stdio: 'inherit' });
  if (migrate.status !== 0) throw new Error('migrate failed');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(
    path.join(REPO, '.venv', 'bin', 'gunicorn'),
    ['nodeworks_server.wsgi:application', '--bind', `127.0.0.1:${port}`, '--workers', '2', '--worker-class', 'gthread', '--threads', '8'],
    { cwd: REPO, env, detached: true, stdio: ['ignore', 'ignore', fs.openSync(path.join(dataDir, 'gunicorn.log'), 'a')] },
  );
  const stop = () => {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.on('exit', stop);
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${base}/api/v1/status`)).ok) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  const user = { username: 'bench', email: 'bench@example.org', password: 'Qv7!bench-horse-battery' };
  await api(base, 'POST', 'register', user);
  const { access } = await api(base, 'POST', 'login', { username: user.username, password: user.password });
  const workflows = [];
  for (const n of SIZES) {
    const started = Date.now();
    const published = await api(base, 'POST', 'workflow/publish', { name: `bench ${n}`, workflow: generateWorkflow(n) }, access);
    workflows.push({ n, id: published.id, publishS: (Date.now() - started) / 1000 });
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-renderer-backgrounding'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${base}/`);

  const results = [];
  for (const wf of workflows) {
    // A fresh load each time (the access token survives through the refresh cookie).
    await page.goto(`${base}/workflows/${wf.id}`);
    const firstNodeMs = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const check = () => (document.querySelector('[data-node]') ? resolve(performance.now()) : requestAnimationFrame(check));
          check();
        }),
    );
    // Fitted and drawn: the viewport transform settles, then two frames.
    await page.waitForTimeout(300);
    const drawnMs = await page.evaluate(
      () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())))),
    );
    if (SHOTS) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `graph-${wf.n}.png`) });
    }
    const pane = page.locator('.react-flow__pane');
    const box = await pane.boundingBox();

    async function panFps(label) {
      const rendered = await page.locator('.react-flow__node').count();
      await page.evaluate(() => {
        window.__frames = [];
        window.__counting = true;
        const tick = (t) => {
          if (!window.__counting) return;
          window.__frames.push(t);
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      await page.mouse.move(cx, cy);
      await page.mouse.down();
      const start = Date.now();
      let k = 0;
      while (Date.now() - start < PAN_MS) {
        const t = (k++ % 60) / 60;
        const dx = Math.sin(t * 2 * Math.PI) * box.width * 0.3;
        const dy = Math.cos(t * 2 * Math.PI) * box.height * 0.2;
        await page.mouse.move(cx + dx, cy + dy);
      }
      await page.mouse.up();
      const frames = await page.evaluate(() => {
        window.__counting = false;
        return window.__frames;
      });
      const elapsed = (frames[frames.length - 1] - frames[0]) / 1000;
      let longest = 0;
      for (let i = 1; i < frames.length; i++) longest = Math.max(longest, frames[i] - frames[i - 1]);
      return { label, rendered, fps: Math.round(((frames.length - 1) / elapsed) * 10) / 10, longestFrameMs: Math.round(longest), moves: k };
    }

    const fitted = await panFps('fitted view');
    // Reading distance: zoom 1 around the centre (the Controls' zoom-in until the zoom reaches 1).
    await page.evaluate(() => {
      const el = document.querySelector('.react-flow__viewport');
      return el ? el.style.transform : '';
    });
    for (let i = 0; i < 40; i++) {
      const scale = await page.evaluate(() => {
        const m = /scale\(([^)]+)\)/.exec(document.querySelector('.react-flow__viewport').style.transform);
        return m ? Number(m[1]) : 1;
      });
      if (scale >= 0.95) break;
      await page.getByRole('button', { name: 'Zoom In' }).click();
      await page.waitForTimeout(120);
    }
    const close = await panFps('zoom 1');
    const result = {
      nodes: wf.n,
      publishS: Math.round(wf.publishS * 10) / 10,
      firstRenderMs: Math.round(firstNodeMs),
      drawnMs: Math.round(drawnMs),
      pan: [fitted, close],
    };
    results.push(result);
    console.log(
      `${String(wf.n).padStart(5)} nodes: first node ${result.firstRenderMs} ms, drawn ${result.drawnMs} ms; ` +
        result.pan.map((p) => `pan (${p.label}, ${p.rendered} nodes in the DOM) ${p.fps} fps, longest frame ${p.longestFrameMs} ms`).join('; '),
    );
  }
  await browser.close();
  stop();
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, results }, null, 2));
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
