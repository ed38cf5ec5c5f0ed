import { expect, type Locator, type Page } from '@playwright/test';

/** One run: header, graph coloured by the run, node panel and the timeline. */
export class RunPage {
  readonly header: Locator;
  readonly graph: Locator;
  readonly timeline: Locator;
  readonly bars: Locator;
  readonly panel: Locator;
  readonly panelLog: Locator;
  readonly panelError: Locator;

  constructor(readonly page: Page) {
    this.header = page.getByTestId('run-header');
    this.graph = page.getByTestId('workflow-graph');
    this.timeline = page.getByTestId('run-timeline');
    this.bars = this.timeline.locator('g[role="button"]');
    this.panel = page.getByTestId('node-panel');
    this.panelLog = this.panel.getByTestId('node-log');
    this.panelError = this.panel.getByTestId('node-error');
  }

  async goto(workflowId: number | string, runId: number | string) {
    await this.page.goto(`/workflows/${workflowId}/runs/${runId}`);
    await this.expectLoaded(runId);
  }

  async expectLoaded(runId: number | string) {
    await expect(this.page.getByRole('heading', { level: 1 })).toContainText(`Run ${runId}`);
    await expect(this.graph.locator('[data-node]').first()).toBeVisible();
  }

  node(uniquename: string): Locator {
    return this.graph.locator(`[data-node="${uniquename}"]`);
  }

  async expectState(state: string, timeout = 60_000) {
    await expect(this.header).toHaveAttribute('data-run-state', state, { timeout });
  }

  /** A timeline bar by the node's display name (its accessible name starts with it). */
  bar(name: string): Locator {
    return this.timeline.getByRole('button', { name: new RegExp(`^${name}:`) });
  }

  async select(uniquename: string) {
    await this.node(uniquename).click();
    await expect(this.panel).toBeVisible();
  }
}
