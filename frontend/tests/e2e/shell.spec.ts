/**
 * The app's shell in a real chromium against the real server: accounts, tokens, the workflows list,
 * runners, queue, 404, and the session surviving a reload.
 */
import { apiCreateToken, apiExecute, apiPublish, apiSignup, expect, makeStaff, newUser, screenshot, test, uniqueName } from './harness';
import { ncText, tinyWorkflow } from './fixtures/workflows';
import { LoginPage, NavBar, QueuePage, RunnersPage, RunsPage, SignupPage, TokensPage, WorkflowsPage } from './pages';

test.describe('accounts and tokens', () => {
  test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

  test('sign up, wrong password, token create/copy/revoke, reload keeps the session, log out', async ({ page }) => {
    const user = newUser('shell');
    const signup = new SignupPage(page);
    const nav = new NavBar(page);

    await test.step('a visitor is sent to log in, and signs up from there', async () => {
      await page.goto('/settings/tokens');
      await expect(page).toHaveURL(/\/login\?next=%2Fsettings%2Ftokens$/);
      await expect(page).toHaveTitle('Log in · Nodeworks');
      await screenshot(page, 'login');
      await page.getByRole('link', { name: 'Create an account' }).click();
      await expect(page).toHaveURL(/\/signup\?next=/);
      await screenshot(page, 'signup');
      await signup.fill(user);
      // Back where the visitor wanted to go.
      await expect(page).toHaveURL(/\/settings\/tokens$/);
      await nav.expectLoggedInAs(user.username);
    });

    const tokens = new TokensPage(page);
    const tokenName = 'laptop runner';
    await test.step('create a token: shown once with the exact Authorization line, copied', async () => {
      await expect(page.getByTestId('tokens-empty')).toBeVisible();
      const secret = await tokens.create(tokenName);
      await expect(tokens.tokenLine).toHaveText(`Authorization: Token ${secret}`);
      expect(await tokens.copyLine()).toBe(`Authorization: Token ${secret}`);
      await expect(tokens.row(tokenName)).toContainText(secret.slice(0, 8));
      await expect(page).toHaveTitle('API tokens · Nodeworks');
      await screenshot(page, 'tokens-created');

      // The token really works against the API.
      const response = await page.request.get('/api/v1/workflow/', { headers: { Authorization: `Token ${secret}` } });
      expect(response.status()).toBe(200);
    });

    await test.step('a reload keeps the session (refresh cookie), and the secret is gone', async () => {
      await page.reload();
      await expect(page.getByRole('heading', { name: 'API tokens' })).toBeVisible();
      await nav.expectLoggedInAs(user.username);
      await expect(tokens.created).toHaveCount(0);
      await expect(tokens.row(tokenName)).toBeVisible();
      // The refresh token is out of reach of scripts.
      expect(await page.evaluate(() => document.cookie)).not.toContain('nw_refresh');
      const cookies = await page.context().cookies();
      const refresh = cookies.find((cookie) => cookie.name === 'nw_refresh');
      expect(refresh?.httpOnly).toBe(true);
      expect(refresh?.sameSite).toBe('Strict');
    });

    await test.step('revoke the token', async () => {
      await tokens.revoke(tokenName);
      await expect(page.getByTestId('tokens-empty')).toBeVisible();
    });

    await test.step('log out: the session is gone, also after a reload', async () => {
      await nav.logout();
      await page.goto('/runners');
      await expect(page).toHaveURL(/\/login\?next=%2Frunners$/);
    });

    await test.step('a wrong password says so; the right one gets back in', async () => {
      const login = new LoginPage(page);
      await login.fill(user.username, 'not-the-password');
      await login.expectError('Wrong username or password.');
      await screenshot(page, 'login-wrong-password');
      await login.login(user.username, user.password);
      await expect(page).toHaveURL(/\/runners$/);
    });
  });

  test('sign-up errors from the API appear under the field they name', async ({ page, baseURL }) => {
    const taken = await apiSignup(baseURL!, newUser('taken'));
    const signup = new SignupPage(page);
    await signup.goto();
    await signup.fill({ ...newUser('again'), username: taken.username });
    await expect(signup.fieldErrors('username')).toContainText(/taken|already exists/i);
    await expect(signup.username).toHaveAttribute('aria-invalid', 'true');
    await screenshot(page, 'signup-error');
  });
});

test.describe('workflows', () => {
  test('empty state, upload by picker and by drop, bad file message, open, runs, delete by typing the name', async ({ page, baseURL }) => {
    const user = await apiSignup(baseURL!, newUser('wf'));
    await new LoginPage(page).goto();
    await new LoginPage(page).login(user.username, user.password);
    const workflows = new WorkflowsPage(page);

    await test.step('a new user sees what to do first', async () => {
      await expect(workflows.emptyState).toContainText('No workflows yet');
      await expect(page).toHaveTitle('Workflows · Nodeworks');
      await screenshot(page, 'workflows-empty');
    });

    await test.step('a file that is not a workflow shows the API message', async () => {
      const message = await workflows.uploadExpectingError({ file: { name: 'broken.nc', text: '{"not": "a workflow"' } });
      expect(message).toMatch(/Could not upload: .+/);
      expect(message).not.toMatch(/HTTP 400/);
      await screenshot(page, 'workflows-upload-error');
    });

    const name = uniqueName('tiny');
    let id = 0;
    await test.step('upload with the file picker, a name and a message', async () => {
      id = await workflows.upload({ file: { name: 'tiny.nc', text: ncText(tinyWorkflow()) }, name, message: 'First version' });
      const row = workflows.row(name);
      await expect(row).toContainText('First version');
      await expect(row).toContainText('3 nodes');
      await expect(row).toContainText('never run');
      await expect(row).toContainText(user.username);
    });

    await test.step('upload by dropping a file: the name comes from the file', async () => {
      await workflows.drop({ name: 'dropped.nc', text: ncText(tinyWorkflow()) });
      await expect(workflows.dropZone).toContainText('dropped.nc');
      await expect(workflows.nameInput).toHaveValue('dropped');
      await workflows.uploadButton.click();
      await expect(workflows.uploadSuccess).toContainText('dropped');
      await expect(workflows.row('dropped')).toBeVisible();
      await screenshot(page, 'workflows');
    });

    await test.step('the runs list of a workflow never run says how to start one', async () => {
      await workflows.openRuns(name);
      const runs = new RunsPage(page);
      await expect(runs.emptyState).toContainText('No runs yet');
      await expect(page).toHaveTitle(`Runs of ${name} · Nodeworks`);
      await screenshot(page, 'runs-empty');
    });

    await test.step('open it', async () => {
      await workflows.goto();
      await workflows.open(name);
      await expect(page).toHaveURL(new RegExp(`/workflows/${id}$`));
    });

    await test.step('delete it, confirmed by typing its name', async () => {
      await workflows.goto();
      await workflows.row(name).getByRole('button', { name: `Delete ${name}` }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel(/Type .* to confirm/).fill(name.slice(0, -1));
      await expect(dialog.getByRole('button', { name: 'Delete workflow' })).toBeDisabled();
      await screenshot(page, 'workflows-delete-dialog');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await workflows.delete(name);
      await expect(workflows.row('dropped')).toBeVisible();
      const gone = await page.request.get(`/api/v1/workflow/detail/${id}`);
      expect(gone.status()).toBe(401); // no token on this bare request: the API still refuses, never a 500
    });
  });
});

test.describe('runners, queue and runs', () => {
  test('queue groups waiting tasks and clears them; a started runner shows up, runs a workflow, is shut down', async ({ page, baseURL, startRunner }) => {
    const user = await apiSignup(baseURL!, newUser('fleet'));
    const login = new LoginPage(page);
    await login.goto();
    await login.login(user.username, user.password);

    const runners = new RunnersPage(page);
    await runners.goto();
    await expect(runners.emptyState).toContainText('No runners yet');
    await screenshot(page, 'runners-empty');

    const tokens = new TokensPage(page);
    await tokens.goto();
    const secret = await tokens.create('runner');

    const queue = new QueuePage(page);
    await test.step('tasks no runner can take wait in the queue, grouped by their tags; clear them', async () => {
      await queue.goto();
      await expect(queue.emptyState).toBeVisible();
      const waiting = await apiPublish(baseURL!, secret, uniqueName('needs-gpu'), tinyWorkflow(), { tags: ['gpu-e2e'] });
      await apiExecute(baseURL!, secret, waiting);
      const row = queue.rows.filter({ hasText: 'gpu-e2e' });
      await expect(row).toBeVisible();
      await expect(row).toContainText('local');
      expect(await queue.total('Queued')).toBeGreaterThan(0);
      await expect(page).toHaveTitle('Queue · Nodeworks');
      // Not an administrator: no cancel-everything button.
      await expect(page.getByTestId('admin-actions')).toHaveCount(0);
      await screenshot(page, 'queue');
      await queue.clear();
      await expect(queue.outcome).toContainText(/Removed \d+ queued task/);
      await expect(queue.emptyState).toBeVisible();
      expect(await queue.total('Queued')).toBe(0);
    });

    const runnerName = uniqueName('e2e-runner');
    await test.step('a started runner appears online with its tags and executors', async () => {
      await startRunner({ token: secret, name: runnerName, executors: ['local', 'shell'], tags: ['e2e'] });
      await runners.goto();
      await runners.expectStatus(runnerName, 'online');
      const row = runners.row(runnerName);
      await expect(row).toContainText('e2e');
      await expect(row).toContainText('local');
      await expect(row).toContainText('shell');
      await expect(page).toHaveTitle('Runners · Nodeworks');
      await screenshot(page, 'runners');
    });

    await test.step('a run of a workflow shows in its runs list, live, until it succeeded', async () => {
      const name = uniqueName('tiny');
      const id = await apiPublish(baseURL!, secret, name, tinyWorkflow());
      const runId = await apiExecute(baseURL!, secret, id);
      const runs = new RunsPage(page);
      await runs.goto(id);
      await expect(runs.row(runId)).toBeVisible();
      await runs.expectState(runId, 'succeeded');
      await expect(runs.row(runId)).toContainText(user.username);
      await expect(runs.row(runId)).toContainText('3 succeeded');
      await expect(page).toHaveTitle(`Runs of ${name} · Nodeworks`);
      await screenshot(page, 'runs');

      // The workflows list shows the last run.
      const workflows = new WorkflowsPage(page);
      await workflows.goto();
      await expect(workflows.row(name).locator('[data-state="succeeded"]')).toBeVisible();

      await runs.goto(id);
      await runs.open(runId);
    });

    await test.step('shut the runner down', async () => {
      await runners.goto();
      await runners.shutdown(runnerName);
      await expect(runners.row(runnerName).getByRole('button', { name: `Shut down ${runnerName}` })).toBeDisabled();
      // Asked to stop and still in contact: draining. (An idle runner does not exit yet: it hears the
      // request only in a heartbeat answer, and it heartbeats only while it holds leases.)
      await runners.expectStatus(runnerName, 'draining', 5_000);
      await screenshot(page, 'runners-shutdown');
    });
  });
});

test('an administrator cancels every run from the queue page, behind a confirmation', async ({ page, baseURL }) => {
  const someone = await apiSignup(baseURL!, newUser('someone'));
  const theirToken = await apiCreateToken(baseURL!, someone);
  const waiting = await apiPublish(baseURL!, theirToken, uniqueName('stuck'), tinyWorkflow(), { tags: ['nobody-has-this'] });
  await apiExecute(baseURL!, theirToken, waiting);

  const admin = await apiSignup(baseURL!, newUser('admin'));
  makeStaff(admin.username);
  const login = new LoginPage(page);
  await login.goto();
  await login.login(admin.username, admin.password);
  const queue = new QueuePage(page);
  await queue.goto();
  // An administrator sees everyone's queue.
  await expect(queue.rows.filter({ hasText: 'nobody-has-this' })).toBeVisible();
  const section = page.getByTestId('admin-actions');
  await section.getByRole('button', { name: 'Cancel every run and clear the queue' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Every running run of every user is cancelled');
  await screenshot(page, 'queue-admin-confirm');
  await dialog.getByRole('button', { name: 'Cancel everything' }).click();
  await expect(queue.outcome).toContainText(/Cancelled [1-9]\d* run/);
  await expect(queue.emptyState).toBeVisible();
});

test('the session renews itself quietly: later requests carry a new token, no login page', async ({ page, baseURL }) => {
  // The harness's server issues one-minute access tokens, so the app renews after about 30 s.
  const user = await apiSignup(baseURL!, newUser('renew'));
  const login = new LoginPage(page);
  await login.goto();
  await login.login(user.username, user.password);
  const bearer = async (path: string) => {
    const request = await page.waitForRequest((r) => r.url().includes(path) && r.headers()['authorization'] !== undefined);
    return request.headers()['authorization'];
  };
  const runners = new RunnersPage(page);
  const firstToken = bearer('/api/v1/runners/status');
  await runners.goto();
  const before = await firstToken;

  const renewal = await page.waitForResponse((r) => r.url().endsWith('/api/v1/token/refresh'), { timeout: 45_000 });
  expect(renewal.status()).toBe(200);
  // The page polls every 5 s: its next request uses the renewed token.
  const after = await bearer('/api/v1/runners/status');
  expect(after).toMatch(/^Bearer /);
  expect(after).not.toBe(before);
  await expect(page).toHaveURL(/\/runners$/);
  await expect(page.getByRole('heading', { name: 'Runners', level: 1 })).toBeVisible();
});

test('tabs follow each other: a logout in one tab logs the other out, a login as someone else replaces it', async ({ page, baseURL }) => {
  const ada = await apiSignup(baseURL!, newUser('ada'));
  const bob = await apiSignup(baseURL!, newUser('bob'));
  const login = new LoginPage(page);
  await login.goto();
  await login.login(ada.username, ada.password);
  await new TokensPage(page).goto();

  // A second tab of the same browser: same cookie, same storage.
  const other = await page.context().newPage();
  await other.goto('/runners');
  await expect(other.getByRole('heading', { name: 'Runners', level: 1 })).toBeVisible();
  await new NavBar(other).expectLoggedInAs(ada.username);

  await new NavBar(other).logout();
  await expect(page).toHaveURL(/\/login\?next=%2Fsettings%2Ftokens$/);

  // Bob logs in in the second tab: the first tab takes his session, not Ada's stale page.
  await new LoginPage(other).login(bob.username, bob.password);
  await new NavBar(page).expectLoggedInAs(bob.username);
  await expect(page).toHaveURL(/\/settings\/tokens$/);
  await other.close();
});

test('unknown routes show the 404 page inside the app', async ({ page, baseURL }) => {
  const user = await apiSignup(baseURL!, newUser('lost'));
  await page.goto('/no/such/page');
  const login = new LoginPage(page);
  await login.login(user.username, user.password);
  await expect(page).toHaveURL(/\/no\/such\/page$/);
  await expect(page.getByTestId('not-found')).toContainText('/no/such/page');
  await expect(page).toHaveTitle('Page not found · Nodeworks');
  await page.getByRole('link', { name: 'Go to your workflows' }).click();
  await expect(page.getByRole('heading', { name: 'Workflows', level: 1 })).toBeVisible();
  await page.goBack();
  await screenshot(page, 'not-found');
});

test('the keyboard reaches everything, with a visible focus ring', async ({ page, baseURL }) => {
  const user = await apiSignup(baseURL!, newUser('keys'));
  const login = new LoginPage(page);
  await login.goto();
  // The username field has focus on arrival; type, tab, type, Enter.
  await page.keyboard.type(user.username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(user.password);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Workflows', level: 1 })).toBeVisible();

  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  // Tab through the brand to the navigation, and follow a link with Enter.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const runnersLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runners' });
  await expect(runnersLink).toBeFocused();
  const outline = await runnersLink.evaluate((element) => getComputedStyle(element).outlineStyle);
  expect(outline).not.toBe('none');
  await screenshot(page, 'keyboard-focus');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: 'Runners', level: 1 })).toBeVisible();
  await expect(runnersLink).toHaveAttribute('aria-current', 'page');

  // A phone-sized window keeps "Log out" on screen.
  await page.setViewportSize({ width: 400, height: 800 });
  await expect(new NavBar(page).logoutButton).toBeInViewport();
  await screenshot(page, 'narrow-runners');
});
