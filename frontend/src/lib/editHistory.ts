/**
 * Undo/redo: a bounded stack of edit commands. A command records the document before and after it; since
 * documents share every untouched object (lib/ncEdit), keeping both costs only the objects the edit replaced.
 * Pure and immutable: every operation returns a new history.
 */
export interface Command<T> {
  /** Said in the Undo/Redo buttons' titles: "Undo move 2 nodes". */
  label: string;
  before: T;
  after: T;
}

export interface History<T> {
  present: T;
  past: Command<T>[];
  future: Command<T>[];
  /** The most commands kept; the oldest go first. */
  limit: number;
  /** The document last saved (published or loaded): `present !== saved` means unsaved changes. */
  saved: T;
}

export function createHistory<T>(initial: T, limit = 200): History<T> {
  return { present: initial, past: [], future: [], limit, saved: initial };
}

/** Applies an edit. An edit that changed nothing (same object back) is not recorded. */
export function record<T>(history: History<T>, label: string, next: T): History<T> {
  if (next === history.present) return history;
  const past = [...history.past, { label, before: history.present, after: next }];
  if (past.length > history.limit) past.splice(0, past.length - history.limit);
  return { ...history, present: next, past, future: [] };
}

export function undo<T>(history: History<T>): History<T> {
  const command = history.past[history.past.length - 1];
  if (!command) return history;
  return { ...history, present: command.before, past: history.past.slice(0, -1), future: [command, ...history.future] };
}

export function redo<T>(history: History<T>): History<T> {
  const command = history.future[0];
  if (!command) return history;
  return { ...history, present: command.after, past: [...history.past, command], future: history.future.slice(1) };
}

export const canUndo = <T>(h: History<T>): boolean => h.past.length > 0;
export const canRedo = <T>(h: History<T>): boolean => h.future.length > 0;
export const undoLabel = <T>(h: History<T>): string | null => h.past[h.past.length - 1]?.label ?? null;
export const redoLabel = <T>(h: History<T>): string | null => h.future[0]?.label ?? null;

/** Unsaved: the document differs from the one last saved (undoing back to it counts as saved). */
export const isDirty = <T>(h: History<T>): boolean => h.present !== h.saved;

/** After a publish: the present is what the server now has. The stack stays, so a publish can be undone locally. */
export function markSaved<T>(history: History<T>, saved: T = history.present): History<T> {
  return { ...history, saved };
}

/** A new document from outside (another revision opened): the stack starts over. */
export function reset<T>(history: History<T>, doc: T): History<T> {
  return createHistory(doc, history.limit);
}
