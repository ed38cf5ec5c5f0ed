import { describe, expect, it } from 'vitest';
import { initialText, isChanged, parseField, valueKind } from './overrideValue';

describe('valueKind', () => {
  it('types a field by the saved value, then by dtype', () => {
    expect(valueKind(87, 'int')).toBe('integer');
    expect(valueKind(5.0, 'float')).toBe('number');
    expect(valueKind(5)).toBe('number');
    expect(valueKind(true)).toBe('boolean');
    expect(valueKind('sin', 'str')).toBe('text');
    expect(valueKind(null, 'int')).toBe('integer');
    expect(valueKind(null, 'numpy.ndarray')).toBe('json');
    expect(valueKind([1, 2])).toBe('json');
  });
});

describe('parseField', () => {
  it('parses each kind and explains what is wrong', () => {
    expect(parseField('7', 'integer')).toEqual({ ok: true, value: 7 });
    expect(parseField('7.5', 'integer')).toMatchObject({ ok: false });
    expect(parseField(' 2 ', 'number')).toEqual({ ok: true, value: 2 });
    expect(parseField('1e3', 'number')).toEqual({ ok: true, value: 1000 });
    expect(parseField('abc', 'number')).toEqual({ ok: false, error: 'a number, e.g. 2 or 0.5' });
    expect(parseField('', 'number')).toMatchObject({ ok: false });
    expect(parseField('true', 'boolean')).toEqual({ ok: true, value: true });
    expect(parseField(' spaced ', 'text')).toEqual({ ok: true, value: ' spaced ' });
    expect(parseField('[1, 2]', 'json')).toEqual({ ok: true, value: [1, 2] });
    expect(parseField('[1,', 'json')).toMatchObject({ ok: false });
  });

  it('round-trips the saved value through the initial text', () => {
    for (const [value, dtype] of [[87, 'int'], [5.5, 'float'], ['x', 'str'], [false, 'bool'], [[1, { a: null }], undefined]] as const) {
      const kind = valueKind(value, dtype);
      const parsed = parseField(initialText(value, kind), kind);
      expect(parsed).toEqual({ ok: true, value });
      expect(isChanged(value, parsed)).toBe(false);
    }
    expect(isChanged(5, parseField('2', 'number'))).toBe(true);
  });
});
