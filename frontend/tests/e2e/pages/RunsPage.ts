import { expect, type Locator, type Page } from '@playwright/test';

export class RunsPage {
  readonly table: Locator;
  readonly rows: Locator;
  readonly emptyState: Locator;

  constructor(readonly page: Page) {
    this.table = page.getByTestId('runs-table');
    this.rows = page.getByTestId('run-row');
    this.emptyState = page.getByTestId('runs-empty');
  }

  async goto(workflowId: number | string) {
    await this.page.goto(`/workflows/${workflowId}/runs`);
    await expect(this.page.getByRole('heading', { level: 1 })).toContainText('Runs');
  }

  row(runId: number | string): Locator {
    return this.page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
  }

  /** Waits until the run's row shows `state` (the list polls while runs are live). */
  async expectState(runId: number | string, state: string) {
    await expect(this.row(runId).locator(`[data-state="${state}"]`).first()).toBeVisible();
  }

  async open(runId: number | string) {
    await this.row(runId).getByRole('link', { name: `#${runId}` }).click();
    await expect(this.page).toHaveURL(new RegExp(`/runs/${runId}$`));
  }
}
