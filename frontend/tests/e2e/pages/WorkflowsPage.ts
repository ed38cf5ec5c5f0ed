import { expect, type Locator, type Page } from '@playwright/test';

export interface UploadOptions {
  /** A path on disk, or a file made in memory. */
  file: string | { name: string; text: string };
  name?: string;
  message?: string;
}

export class WorkflowsPage {
  readonly fileInput: Locator;
  readonly nameInput: Locator;
  readonly messageInput: Locator;
  readonly uploadButton: Locator;
  readonly uploadError: Locator;
  readonly uploadSuccess: Locator;
  readonly dropZone: Locator;
  readonly emptyState: Locator;

  constructor(readonly page: Page) {
    const form = page.getByTestId('upload-form');
    this.fileInput = form.locator('input[type="file"]');
    this.nameInput = form.getByLabel('Name');
    this.messageInput = form.getByLabel('Message');
    this.uploadButton = form.getByRole('button', { name: 'Upload' });
    this.uploadError = page.getByTestId('upload-error');
    this.uploadSuccess = page.getByTestId('upload-success');
    this.dropZone = page.getByTestId('drop-zone');
    this.emptyState = page.getByTestId('workflows-empty');
  }

  async goto() {
    await this.page.goto('/');
    await expect(this.page.getByRole('heading', { name: 'Workflows', level: 1 })).toBeVisible();
  }

  private async choose(file: UploadOptions['file']) {
    if (typeof file === 'string') {
      await this.fileInput.setInputFiles(file);
    } else {
      await this.fileInput.setInputFiles({ name: file.name, mimeType: 'application/json', buffer: Buffer.from(file.text) });
    }
  }

  /** Drops an in-memory file on the drop zone, as a person dragging it from their desktop. */
  async drop(file: { name: string; text: string }) {
    const dataTransfer = await this.page.evaluateHandle(({ name, text }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text], name, { type: 'application/json' }));
      return transfer;
    }, file);
    await this.dropZone.dispatchEvent('dragover', { dataTransfer });
    await this.dropZone.dispatchEvent('drop', { dataTransfer });
  }

  async fillAndSubmit({ name, message }: Omit<UploadOptions, 'file'>) {
    if (name !== undefined) await this.nameInput.fill(name);
    if (message !== undefined) await this.messageInput.fill(message);
    await this.uploadButton.click();
  }

  /** Uploads and waits for the success message; returns the new workflow's id. */
  async upload(options: UploadOptions): Promise<number> {
    await this.choose(options.file);
    await this.fillAndSubmit(options);
    await expect(this.uploadSuccess).toBeVisible();
    const name = options.name ?? (typeof options.file === 'string' ? options.file.split('/').pop()! : options.file.name).replace(/\.nc$/i, '');
    await expect(this.row(name)).toBeVisible();
    return Number(await this.row(name).getAttribute('data-workflow-id'));
  }

  /** Uploads a file the server should refuse; returns the message shown. */
  async uploadExpectingError(options: UploadOptions): Promise<string> {
    await this.choose(options.file);
    await this.fillAndSubmit(options);
    await expect(this.uploadError).toBeVisible();
    return (await this.uploadError.textContent()) ?? '';
  }

  row(name: string): Locator {
    return this.page.getByTestId('workflow-row').filter({ has: this.page.getByRole('link', { name, exact: true }) });
  }

  async open(name: string) {
    await this.row(name).getByRole('link', { name, exact: true }).click();
    await expect(this.page).toHaveURL(/\/workflows\/\d+$/);
  }

  async openRuns(name: string) {
    await this.row(name).getByRole('link', { name: 'Runs', exact: true }).click();
    await expect(this.page).toHaveURL(/\/workflows\/\d+\/runs$/);
  }

  /** Deletes through the dialog, which asks for the name to be typed. */
  async delete(name: string) {
    await this.row(name).getByRole('button', { name: `Delete ${name}` }).click();
    const dialog = this.page.getByRole('dialog');
    const confirm = dialog.getByRole('button', { name: 'Delete workflow' });
    await expect(confirm).toBeDisabled();
    await dialog.getByLabel(/Type .* to confirm/).fill(name);
    await confirm.click();
    await expect(dialog).toBeHidden();
    await expect(this.row(name)).toHaveCount(0);
  }
}
