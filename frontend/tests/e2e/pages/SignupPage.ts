import { expect, type Locator, type Page } from '@playwright/test';
import type { TestUser } from '../harness';

export class SignupPage {
  readonly username: Locator;
  readonly email: Locator;
  readonly password: Locator;
  readonly submit: Locator;

  constructor(readonly page: Page) {
    this.username = page.getByLabel('Username');
    this.email = page.getByLabel('Email');
    this.password = page.getByLabel('Password');
    this.submit = page.getByRole('button', { name: 'Create account' });
  }

  async goto() {
    await this.page.goto('/signup');
    await expect(this.page.getByRole('heading', { name: 'Create an account' })).toBeVisible();
  }

  async fill(user: TestUser) {
    await this.username.fill(user.username);
    await this.email.fill(user.email);
    await this.password.fill(user.password);
    await this.submit.click();
  }

  /** Signs up (which also logs in) and waits for the workflows page. */
  async signup(user: TestUser) {
    await this.fill(user);
    await expect(this.page.getByRole('heading', { name: 'Workflows', level: 1 })).toBeVisible();
  }

  /** The API's messages shown under one field. */
  fieldErrors(field: 'username' | 'email' | 'password'): Locator {
    return this.page.getByTestId(`${field}-errors`);
  }
}
