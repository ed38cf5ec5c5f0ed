import { describe, expect, it } from 'vitest';
import { canRedo, canUndo, createHistory, isDirty, markSaved, record, redo, undo, undoLabel, redoLabel } from './editHistory';

describe('edit history', () => {
  it('undoes and redoes in order, and a new edit drops the redo stack', () => {
    let h = createHistory('a');
    h = record(h, 'to b', 'b');
    h = record(h, 'to c', 'c');
    expect(undoLabel(h)).toBe('to c');
    h = undo(h);
    expect(h.present).toBe('b');
    expect(redoLabel(h)).toBe('to c');
    h = undo(h);
    expect(h.present).toBe('a');
    expect(canUndo(h)).toBe(false);
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toBe('b');
    h = record(h, 'to d', 'd');
    expect(canRedo(h)).toBe(false);
    expect(redo(h)).toBe(h);
    expect(undo(h).present).toBe('b');
  });

  it('does not record an edit that changed nothing', () => {
    const h = createHistory({ x: 1 });
    expect(record(h, 'nothing', h.present)).toBe(h);
  });

  it('keeps at most `limit` commands, dropping the oldest', () => {
    let h = createHistory(0, 3);
    for (let i = 1; i <= 5; i += 1) h = record(h, `to ${i.toString()}`, i);
    expect(h.past.map((c) => c.label)).toEqual(['to 3', 'to 4', 'to 5']);
    h = undo(undo(undo(h)));
    expect(h.present).toBe(2);
    expect(canUndo(h)).toBe(false);
  });

  it('knows unsaved changes, also after undoing back to the saved document', () => {
    let h = createHistory('a');
    expect(isDirty(h)).toBe(false);
    h = record(h, 'edit', 'b');
    expect(isDirty(h)).toBe(true);
    expect(isDirty(undo(h))).toBe(false);
    h = markSaved(h);
    expect(isDirty(h)).toBe(false);
    expect(isDirty(undo(h))).toBe(true);
  });
});
