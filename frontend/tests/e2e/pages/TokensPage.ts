import { expect, type Locator, type Page } from '@playwright/test';

export class TokensPage {
  readonly nameInput: Locator;
  readonly createButton: Locator;
  readonly created: Locator;
  readonly tokenLine: Locator;
  readonly tokenValue: Locator;

  constructor(readonly page: Page) {
    this.nameInput = page.getByLabel('Token name');
    this.createButton = page.getByRole('button', { name: 'Create token' });
    this.created = page.getByTestId('created-token');
    this.tokenLine = page.getByTestId('token-line');
    this.tokenValue = page.getByTestId('token-value');
  }

  async goto() {
    await this.page.goto('/settings/tokens');
    await expect(this.page.getByRole('heading', { name: 'API tokens' })).toBeVisible();
  }

  /** Creates a token and returns its secret (nwu_...) as the page shows it once. */
  async create(name: string): Promise<string> {
    await this.nameInput.fill(name);
    await this.createButton.click();
    await expect(this.created).toBeVisible();
    const token = (await this.tokenValue.textContent())?.trim() ?? '';
    expect(token).toMatch(/^nwu_/);
    return token;
  }

  /** Presses "Copy line" and returns what landed on the clipboard (needs clipboard permissions). */
  async copyLine(): Promise<string> {
    await this.created.getByRole('button', { name: 'Copy line' }).click();
    await expect(this.created.getByRole('button', { name: /Copied/ })).toBeVisible();
    return this.page.evaluate(() => navigator.clipboard.readText());
  }

  row(name: string): Locator {
    return this.page.locator(`[data-testid="token-row"][data-token-name="${name}"]`);
  }

  async revoke(name: string) {
    await this.row(name).getByRole('button', { name: /^Revoke/ }).click();
    const dialog = this.page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await expect(dialog).toBeHidden();
    await expect(this.row(name)).toHaveCount(0);
  }
}
