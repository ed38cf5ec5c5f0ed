import { expect, type Locator, type Page } from '@playwright/test';

export class LoginPage {
  readonly username: Locator;
  readonly password: Locator;
  readonly submit: Locator;
  readonly error: Locator;

  constructor(readonly page: Page) {
    this.username = page.getByLabel('Username');
    this.password = page.getByLabel('Password');
    this.submit = page.getByRole('button', { name: 'Log in' });
    this.error = page.getByTestId('login-error');
  }

  async goto() {
    await this.page.goto('/login');
    await expect(this.page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  }

  async fill(username: string, password: string) {
    await this.username.fill(username);
    await this.password.fill(password);
    await this.submit.click();
  }

  /** Logs in and waits until the app has left the login page. */
  async login(username: string, password: string) {
    await this.fill(username, password);
    await expect(this.page).not.toHaveURL(/\/login/);
  }

  async expectError(text: string | RegExp) {
    await expect(this.error).toContainText(text);
  }
}
