/**
 * Tasks that do not succeed. A node that fails: a shell command printing to stderr then exiting 3. The graph shows it failed and
 * its dependant upstream-failed (independent branches still succeed), and the side panel shows the error
 * and the log. Tasks no runner can take: the panel says why they wait, one task and then the run are cancelled.
 */
import { apiCreateToken, apiSignup, expect, newUser, screenshot, test, uniqueName } from './harness';
import { LoginPage, WorkflowsPage } from './pages';
import { RunPage } from './pages/RunPage';
import { WorkflowPage } from './pages/WorkflowPage';

function terminal(opts: { in?: boolean; out?: boolean; dtype?: string }, value: unknown = null) {
  return { value, flipped: false, opts: { in: !!opts.in, out: !!opts.out, multiinput: false, dtype: opts.dtype ?? 'None' } };
}

function commandNode(uniquename: string, name: string, pos: [number, number], command: string | null) {
  return {
    type: 'Node',
    name,
    uniquename,
    pos,
    path: ['shell', 'Command'],
    terminals: {
      command: terminal({ in: true, dtype: "<class 'str'>" }, command),
      stdout: terminal({ out: true, dtype: "<class 'str'>" }),
      stderr: terminal({ out: true, dtype: "<class 'str'>" }),
      returncode: terminal({ out: true, dtype: "<class 'int'>" }),
    },
    tunnel: false,
    forcerun: false,
    hidden: false,
    customState: null,
    layer: 0,
    requirements: { executor: 'shell' },
  };
}

function failingWorkflow() {
  return {
    fail: commandNode('fail', 'Fails', [0, 0], "echo 'preparing the mesh'; echo 'mesh file not found: case.msh' >&2; exit 3"),
    after: commandNode('after', 'Afterwards', [340, 0], null),
    fine: {
      type: 'Node',
      name: 'Float',
      uniquename: 'fine',
      pos: [0, 220],
      path: ['types', 'Float'],
      terminals: { float: terminal({ out: true, dtype: "<class 'float'>" }, 1.5) },
      tunnel: false,
      forcerun: false,
      hidden: false,
      customState: null,
      layer: 0,
    },
    connection: {
      type: 'Connection',
      name: 'connection',
      uniquename: 'connection',
      line: 'cubic',
      input: ['fail', 'stdout'],
      output: ['after', 'command'],
      controlpoints: [],
    },
  };
}

test('a failing node shows its error and its log', async ({ page, baseURL, startRunner }) => {
  const user = await apiSignup(baseURL!, newUser('failing'));
  const token = await apiCreateToken(baseURL!, user);
  await startRunner({ token, name: uniqueName('shell-runner') });
  const login = new LoginPage(page);
  await login.goto();
  await login.login(user.username, user.password);

  const workflows = new WorkflowsPage(page);
  const name = uniqueName('failing');
  await workflows.goto();
  const workflowId = await workflows.upload({ file: { name: `${name}.nc`, text: JSON.stringify(failingWorkflow(), null, 2) }, name });
  await workflows.open(name);

  const wf = new WorkflowPage(page);
  await wf.expectLoaded();
  const runId = await wf.execute();
  await wf.expectNodeState('fail', 'failed');
  await wf.expectNodeState('after', 'upstream_failed');
  await wf.expectNodeState('fine', 'succeeded');
  await wf.expectRunState('failed');
  await expect(wf.node('fail')).toContainText('failed');
  await expect(wf.node('after')).toContainText('upstream failed');

  await wf.select('fail');
  await expect(wf.panelError).toBeVisible();
  await expect(wf.panelError).toContainText('3');
  await expect(wf.panelLog).toContainText('mesh file not found: case.msh');
  await expect(wf.panelLog).toContainText('preparing the mesh');
  await expect(wf.panel.getByText('Complete log')).toBeVisible();
  await screenshot(page, 'failing-node-panel');

  const run = new RunPage(page);
  await run.goto(workflowId, runId);
  await run.expectState('failed');
  await run.select('fail');
  await expect(run.panelError).toBeVisible();
  await expect(run.panelLog).toContainText('mesh file not found: case.msh');
  await expect(run.timeline).toContainText('never started');
  await screenshot(page, 'failing-run-page');
});

function gpuFloat(uniquename: string, pos: [number, number]) {
  return {
    type: 'Node',
    name: `GPU ${uniquename}`,
    uniquename,
    pos,
    path: ['types', 'Float'],
    terminals: { float: terminal({ out: true, dtype: "<class 'float'>" }, 2.5) },
    tunnel: false,
    forcerun: false,
    hidden: false,
    customState: null,
    layer: 0,
    requirements: { tags: ['gpu'] },
  };
}

test('a task no runner can take says why it waits; cancel one task, then the run', async ({ page, baseURL }) => {
  const user = await apiSignup(baseURL!, newUser('waiting'));
  const login = new LoginPage(page);
  await login.goto();
  await login.login(user.username, user.password);
  const workflows = new WorkflowsPage(page);
  const name = uniqueName('needs-gpu');
  await workflows.goto();
  await workflows.upload({ file: { name: `${name}.nc`, text: JSON.stringify({ a: gpuFloat('a', [0, 0]), b: gpuFloat('b', [0, 200]) }) }, name });
  await workflows.open(name);

  const wf = new WorkflowPage(page);
  await wf.expectLoaded();
  await wf.execute();
  await wf.expectNodeState('a', 'queued');
  await wf.select('b');
  await expect(wf.panel.getByText('Why is it waiting?')).toBeVisible();
  await expect(wf.panel).toContainText('No runner can take it');
  await expect(wf.panel).toContainText('gpu');
  await screenshot(page, 'waiting-node-panel');

  await wf.select('a');
  await wf.panel.getByRole('button', { name: 'Cancel task' }).click();
  await wf.expectNodeState('a', 'cancelled', 15_000);
  await wf.expectNodeState('b', 'queued');
  await wf.expectRunState('running');

  await wf.panel.getByRole('button', { name: 'Cancel run' }).click();
  await wf.expectRunState('cancelled', 15_000);
  await wf.expectNodeState('b', 'cancelled', 15_000);
  await expect(wf.panel.getByRole('button', { name: 'Cancel run' })).toHaveCount(0);
});
