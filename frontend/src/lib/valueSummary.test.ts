import { describe, expect, it } from 'vitest';
import { ndarrayPreview, summarizeValue } from './valueSummary';

function b64(values: number[], Type: Float64ArrayConstructor | Int32ArrayConstructor): string {
  const bytes = new Uint8Array(new Type(values).buffer);
  return btoa(String.fromCharCode(...bytes));
}

describe('summarizeValue', () => {
  it('shows scalars plainly', () => {
    expect(summarizeValue(209).text).toBe('209');
    expect(summarizeValue(271860.0).text).toBe('271860');
    expect(summarizeValue(0.1 + 0.2).text).toBe('0.3');
    expect(summarizeValue(1e-9).text).toBe('1.0000e-9');
    expect(summarizeValue('sin')).toEqual({ kind: 'text', text: '"sin"' });
    expect(summarizeValue(null).kind).toBe('null');
    expect(summarizeValue({ $nw: 'float', v: 'NaN' }).text).toBe('NaN');
  });

  it('summarises lists by shape and first values, never dumping them', () => {
    const big = Array.from({ length: 1_000_000 }, (_, i) => i);
    const s = summarizeValue(big);
    expect(s.text).toBe('[0, 1, 2, 3, 4, …]');
    expect(s.detail).toBe('list, shape 1000000');
    expect(summarizeValue([[1, 2, 3], [4, 5, 6]]).detail).toBe('list, shape 2 × 3');
    expect(summarizeValue([]).text).toBe('[]');
    expect(summarizeValue([1, 2]).text).toBe('[1, 2]');
  });

  it('decodes the first values of a tagged ndarray', () => {
    const data = b64(Array.from({ length: 100 }, (_, i) => i / 10), Float64Array);
    const s = summarizeValue({ $nw: 'ndarray', dtype: '<f8', shape: [10, 10], data });
    expect(s.kind).toBe('ndarray');
    expect(s.text).toBe('[0, 0.1, 0.2, 0.3, 0.4, …]');
    expect(s.detail).toBe('ndarray, shape 10 × 10, <f8');
    expect(ndarrayPreview('int32', b64([7, -3], Int32Array))).toEqual([7, -3]);
    expect(ndarrayPreview('complex128', 'AAAA')).toBeNull();
    expect(summarizeValue({ $nw: 'ndarray', dtype: 'object', shape: [2], data: 'xx' }).text).toBe('(binary data)');
  });

  it('points at artifacts and names object keys', () => {
    expect(summarizeValue({ $nw: 'artifact', id: 'abc' })).toMatchObject({ kind: 'artifact', artifactId: 'abc' });
    expect(summarizeValue({ a: 1, b: 2 }).text).toBe('{a, b}');
  });

  it('clips long text', () => {
    expect(summarizeValue('x'.repeat(1000)).text.length).toBeLessThanOrEqual(200);
  });
});
