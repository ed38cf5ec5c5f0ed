import { expect, type Locator, type Page } from '@playwright/test';

export class QueuePage {
  readonly totals: Locator;
  readonly rows: Locator;
  readonly emptyState: Locator;
  readonly outcome: Locator;

  constructor(readonly page: Page) {
    this.totals = page.getByTestId('queue-totals');
    this.rows = page.getByTestId('queue-row');
    this.emptyState = page.getByTestId('queue-empty');
    this.outcome = page.getByTestId('queue-outcome');
  }

  async goto() {
    await this.page.goto('/queue');
    await expect(this.page.getByRole('heading', { name: 'Queue', level: 1 })).toBeVisible();
  }

  /** The number shown under a total: "Queued", "Picked up" or "Running". */
  async total(label: 'Queued' | 'Picked up' | 'Running'): Promise<number> {
    const value = this.totals.locator('div').filter({ has: this.page.locator('dt', { hasText: label }) }).locator('dd');
    return Number(await value.textContent());
  }

  async clear() {
    await this.page.getByRole('button', { name: 'Clear queued tasks' }).click();
    await this.page.getByRole('dialog').getByRole('button', { name: 'Clear the queue' }).click();
    await expect(this.outcome).toBeVisible();
  }
}
