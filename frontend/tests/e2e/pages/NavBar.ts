import { expect, type Locator, type Page } from '@playwright/test';

export type NavTarget = 'Workflows' | 'Runners' | 'Queue' | 'Tokens';

export class NavBar {
  readonly nav: Locator;
  readonly logoutButton: Locator;

  constructor(readonly page: Page) {
    this.nav = page.getByRole('navigation', { name: 'Main' });
    this.logoutButton = page.getByRole('button', { name: 'Log out' });
  }

  async go(target: NavTarget) {
    await this.nav.getByRole('link', { name: target, exact: true }).click();
  }

  async expectLoggedInAs(username: string) {
    await expect(this.page.getByRole('banner')).toContainText(username);
  }

  async logout() {
    await this.logoutButton.click();
    await expect(this.page).toHaveURL(/\/login$/);
  }
}
