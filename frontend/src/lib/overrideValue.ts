/**
 * The execute dialog's input overrides: each overridable terminal gets a field typed by its saved value
 * (or its dtype when the saved value is null), and the field's text becomes the JSON value sent.
 */

export type ValueKind = 'number' | 'integer' | 'boolean' | 'text' | 'json';

export function valueKind(value: unknown, dtype?: string): ValueKind {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return dtype === 'int' ? 'integer' : 'number';
  if (typeof value === 'string') return 'text';
  if (value === null || value === undefined) {
    if (dtype === 'int') return 'integer';
    if (dtype === 'float') return 'number';
    if (dtype === 'bool') return 'boolean';
    if (dtype === 'str') return 'text';
  }
  return 'json';
}

/** The text a field starts with. */
export function initialText(value: unknown, kind: ValueKind): string {
  if (kind === 'text') return typeof value === 'string' ? value : '';
  if (kind === 'boolean') return value === true ? 'true' : 'false';
  if (kind === 'number' || kind === 'integer') return typeof value === 'number' ? String(value) : '';
  return value === undefined ? 'null' : JSON.stringify(value);
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

export function parseField(text: string, kind: ValueKind): Parsed {
  switch (kind) {
    case 'text':
      return { ok: true, value: text };
    case 'boolean':
      return { ok: true, value: text === 'true' };
    case 'integer': {
      const trimmed = text.trim();
      if (!/^[-+]?\d+$/.test(trimmed)) return { ok: false, error: 'a whole number, e.g. 7' };
      return { ok: true, value: Number.parseInt(trimmed, 10) };
    }
    case 'number': {
      const trimmed = text.trim();
      const value = Number(trimmed);
      if (trimmed === '' || !Number.isFinite(value)) return { ok: false, error: 'a number, e.g. 2 or 0.5' };
      return { ok: true, value };
    }
    case 'json':
      try {
        return { ok: true, value: JSON.parse(text) as unknown };
      } catch {
        return { ok: false, error: 'valid JSON, e.g. [1, 2] or {"a": 1}' };
      }
  }
}

/** Whether the field's value differs from the saved one (only changed fields are sent). */
export function isChanged(saved: unknown, parsed: Parsed): boolean {
  return parsed.ok && JSON.stringify(parsed.value) !== JSON.stringify(saved ?? null);
}
