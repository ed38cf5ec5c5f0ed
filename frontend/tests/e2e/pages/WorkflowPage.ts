import { expect, type Locator, type Page } from '@playwright/test';

/** The workflow page: graph, execute dialog, run summary and the node side panel. */
export class WorkflowPage {
  readonly graph: Locator;
  readonly nodes: Locator;
  readonly executeButton: Locator;
  readonly dialog: Locator;
  readonly executeError: Locator;
  readonly runSummary: Locator;
  readonly panel: Locator;
  readonly panelOutputs: Locator;
  readonly panelLog: Locator;
  readonly panelError: Locator;
  readonly search: Locator;

  constructor(readonly page: Page) {
    this.graph = page.getByTestId('workflow-graph');
    this.nodes = this.graph.locator('[data-node]');
    this.executeButton = page.getByRole('button', { name: 'Execute…' });
    this.dialog = page.getByTestId('execute-dialog');
    this.executeError = page.getByTestId('execute-error');
    this.runSummary = page.getByTestId('run-summary');
    this.panel = page.getByTestId('node-panel');
    this.panelOutputs = this.panel.getByTestId('node-outputs');
    this.panelLog = this.panel.getByTestId('node-log');
    this.panelError = this.panel.getByTestId('node-error');
    this.search = this.graph.getByLabel('Find a node by name');
  }

  async goto(workflowId: number | string, query = '') {
    await this.page.goto(`/workflows/${workflowId}${query}`);
    await this.expectLoaded();
  }

  async expectLoaded() {
    await expect(this.page).toHaveURL(/\/workflows\/\d+(\?.*)?$/);
    await expect(this.nodes.first()).toBeVisible();
  }

  /** A node of the graph by its uniquename. */
  node(uniquename: string): Locator {
    return this.graph.locator(`[data-node="${uniquename}"]`);
  }

  async expectNodeState(uniquename: string, state: string, timeout = 60_000) {
    await expect(this.node(uniquename)).toHaveAttribute('data-state', state, { timeout });
  }

  /** Opens the execute dialog, sets the overrides ({"node.terminal": "text as typed"}), executes; returns the run id. */
  async execute(overrides: Record<string, string> = {}): Promise<number> {
    await this.executeButton.click();
    await expect(this.dialog).toBeVisible();
    for (const [key, text] of Object.entries(overrides)) {
      await this.dialog.locator(`[data-key="${key}"]`).fill(text);
    }
    await this.dialog.getByRole('button', { name: 'Execute', exact: true }).click();
    await expect(this.dialog).toBeHidden();
    await expect(this.page).toHaveURL(/[?&]run=\d+/);
    return Number(new URL(this.page.url()).searchParams.get('run'));
  }

  async expectRunState(state: string, timeout = 60_000) {
    await expect(this.runSummary).toHaveAttribute('data-run-state', state, { timeout });
  }

  async select(uniquename: string) {
    await this.node(uniquename).click();
    await expect(this.panel).toBeVisible();
  }

  /** The panel's row for an output terminal. */
  output(terminal: string): Locator {
    return this.panelOutputs.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name: terminal, exact: true }) });
  }

  async find(name: string) {
    await this.search.fill(name);
    await this.graph.getByRole('button', { name: 'Find' }).click();
  }
}
