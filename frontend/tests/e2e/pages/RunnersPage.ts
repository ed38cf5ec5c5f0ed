import { expect, type Locator, type Page } from '@playwright/test';

export class RunnersPage {
  readonly table: Locator;
  readonly emptyState: Locator;

  constructor(readonly page: Page) {
    this.table = page.getByTestId('runners-table');
    this.emptyState = page.getByTestId('runners-empty');
  }

  async goto() {
    await this.page.goto('/runners');
    await expect(this.page.getByRole('heading', { name: 'Runners', level: 1 })).toBeVisible();
  }

  row(name: string): Locator {
    return this.page.locator(`[data-testid="runner-row"][data-runner-name="${name}"]`);
  }

  /** Waits (the page polls) until the runner shows `status`: online, offline, draining. */
  async expectStatus(name: string, status: string, timeout = 30_000) {
    await expect(this.row(name).locator(`[data-status="${status}"]`)).toBeVisible({ timeout });
  }

  async shutdown(name: string) {
    await this.row(name).getByRole('button', { name: `Shut down ${name}` }).click();
    const dialog = this.page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Shut down' }).click();
    await expect(dialog).toBeHidden();
  }
}
