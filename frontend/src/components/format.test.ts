import { describe, expect, it } from 'vitest';
import { firstLine, formatDuration, formatRelative, secondsBetween, shortSha } from './format';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('formatRelative', () => {
  it('says just now for the last few seconds', () => {
    expect(formatRelative('2026-03-01T11:59:55Z', NOW)).toBe('just now');
  });
  it('picks the largest fitting unit, past and future', () => {
    expect(formatRelative('2026-03-01T11:57:00Z', NOW)).toBe('3 minutes ago');
    expect(formatRelative('2026-03-01T14:00:00Z', NOW)).toBe('in 2 hours');
    expect(formatRelative('2026-02-28T12:00:00Z', NOW)).toBe('yesterday');
  });
  it('returns unreadable input unchanged', () => {
    expect(formatRelative('soon', NOW)).toBe('soon');
  });
});

describe('formatDuration', () => {
  it.each([
    [0.83, '0.8 s'],
    [12.4, '12 s'],
    [184, '3 min 4 s'],
    [120, '2 min'],
    [7500, '2 h 5 min'],
    [null, '—'],
  ])('%s → %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe('secondsBetween', () => {
  it('measures to now when the end is missing', () => {
    expect(secondsBetween('2026-03-01T11:59:00Z', null, NOW)).toBe(60);
    expect(secondsBetween('2026-03-01T11:00:00Z', '2026-03-01T11:00:30Z', NOW)).toBe(30);
    expect(secondsBetween(null, null, NOW)).toBeNull();
  });
});

describe('short forms', () => {
  it('shortens shas and messages', () => {
    expect(shortSha('0123456789abcdef')).toBe('0123456');
    expect(firstLine('Fix the thing\n\nlong body')).toBe('Fix the thing');
    expect(firstLine('x'.repeat(100), 10)).toBe('xxxxxxxxx…');
  });
});
