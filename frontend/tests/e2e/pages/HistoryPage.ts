import { expect, type Locator, type Page } from '@playwright/test';

/** The revision list and the diff of two revisions (/workflows/:id/history). */
export class HistoryPage {
  readonly rows: Locator;
  readonly diff: Locator;
  readonly summary: Locator;
  readonly list: Locator;
  readonly graph: Locator;

  constructor(readonly page: Page) {
    this.rows = page.getByTestId('revisions').locator('tbody tr');
    this.diff = page.getByTestId('revision-diff');
    this.summary = page.getByTestId('diff-summary');
    this.list = page.getByTestId('diff-list');
    this.graph = this.diff.getByTestId('workflow-graph');
  }

  async goto(workflowId: number | string) {
    await this.page.goto(`/workflows/${workflowId}/history`);
    await expect(this.rows.first()).toBeVisible();
  }

  row(index: number): Locator {
    return this.rows.nth(index);
  }

  node(uniquename: string): Locator {
    return this.graph.locator(`[data-node="${uniquename}"]`);
  }

  async execute(index: number) {
    await this.row(index).getByRole('button', { name: 'Execute' }).click();
    const dialog = this.page.getByTestId('execute-dialog');
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Execute', exact: true }).click();
    await expect(this.page).toHaveURL(/\/runs\/\d+$/);
    return Number(this.page.url().split('/').pop());
  }
}
