import { expect, type Locator, type Page } from '@playwright/test';

/** The workflow editor (/workflows/:id/edit, /workflows/new): canvas, palette, side panel, publish, the 409 view. */
export class EditorPage {
  readonly graph: Locator;
  readonly nodes: Locator;
  readonly palette: Locator;
  readonly inspector: Locator;
  readonly unsaved: Locator;
  readonly saved: Locator;
  readonly refused: Locator;
  readonly publishButton: Locator;
  readonly publishDialog: Locator;
  readonly conflict: Locator;
  readonly undoButton: Locator;
  readonly redoButton: Locator;

  constructor(readonly page: Page) {
    this.graph = page.getByTestId('editor-graph');
    this.nodes = this.graph.locator('[data-node]');
    this.palette = page.getByTestId('palette');
    this.inspector = page.getByTestId('inspector');
    this.unsaved = page.getByTestId('unsaved');
    this.saved = page.getByTestId('saved');
    this.refused = page.getByTestId('refused');
    this.publishButton = page.getByRole('button', { name: 'Publish…' });
    this.publishDialog = page.getByTestId('publish-dialog');
    this.conflict = page.getByTestId('conflict');
    this.undoButton = page.getByRole('button', { name: 'Undo', exact: true });
    this.redoButton = page.getByRole('button', { name: 'Redo', exact: true });
  }

  async goto(workflowId: number | string | 'new') {
    await this.page.goto(workflowId === 'new' ? '/workflows/new' : `/workflows/${workflowId}/edit`);
    await expect(this.graph).toBeVisible();
  }

  node(uniquename: string): Locator {
    return this.graph.locator(`[data-node="${uniquename}"]`);
  }

  edge(uniquename: string): Locator {
    return this.graph.locator(`.react-flow__edge[data-id="${uniquename}"]`);
  }

  handle(uniquename: string, terminal: string, side: 'source' | 'target'): Locator {
    return this.node(uniquename).locator(`.react-flow__handle[data-handleid="${terminal}"].${side}`);
  }

  /** Drags a node by its header by (dx, dy) screen pixels. */
  async dragNode(uniquename: string, dx: number, dy: number) {
    const box = await this.node(uniquename).boundingBox();
    if (!box) throw new Error(`node ${uniquename} is not on screen`);
    const x = box.x + box.width / 2;
    const y = box.y + 14;
    await this.page.mouse.move(x, y);
    await this.page.mouse.down();
    await this.page.mouse.move(x + dx / 2, y + dy / 2, { steps: 5 });
    await this.page.mouse.move(x + dx, y + dy, { steps: 5 });
    await this.page.mouse.up();
  }

  /** Drags a node by its header so that the header's middle ends at the screen point (x, y). */
  async dragNodeTo(uniquename: string, x: number, y: number) {
    const box = await this.node(uniquename).boundingBox();
    if (!box) throw new Error(`node ${uniquename} is not on screen`);
    await this.dragNode(uniquename, x - (box.x + box.width / 2), y - (box.y + 14));
  }

  /** Drags a connection from an output handle to an input handle. */
  async connect(from: [string, string], to: [string, string]) {
    const a = await this.handle(from[0], from[1], 'source').boundingBox();
    const b = await this.handle(to[0], to[1], 'target').boundingBox();
    if (!a || !b) throw new Error('a handle is not on screen');
    await this.page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
    await this.page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
    await this.page.mouse.up();
  }

  /** Selects a connection by clicking its path, then deletes it with the Delete key. */
  async deleteEdge(edge: Locator) {
    await edge.locator('.react-flow__edge-interaction').click({ force: true });
    await expect(edge).toHaveClass(/selected/);
    await this.page.keyboard.press('Delete');
    await expect(edge).toHaveCount(0);
  }

  /** Adds a node from the palette (a click: it lands in the middle of the view, selected). */
  async addFromPalette(search: string, path: string) {
    await this.palette.getByRole('searchbox').fill(search);
    await this.palette.locator(`[data-path="${path}"]`).click();
    await expect(this.inspector).toBeVisible();
  }

  /** Sets a terminal's value in the side panel (applied on Enter). */
  async setValue(terminal: string, text: string) {
    const field = this.inspector.locator(`[data-terminal="${terminal}"]`);
    await field.fill(text);
    await field.press('Enter');
  }

  async openPublish() {
    await this.publishButton.click();
    await expect(this.publishDialog).toBeVisible();
  }

  async publish(message: string, name?: string) {
    await this.openPublish();
    if (name !== undefined) await this.publishDialog.getByLabel('Name').fill(name);
    await this.publishDialog.getByLabel('Message: what changed and why').fill(message);
    await this.publishDialog.getByRole('button', { name: 'Publish', exact: true }).click();
  }
}
