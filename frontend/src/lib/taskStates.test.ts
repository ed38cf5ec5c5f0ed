import { describe, expect, it } from 'vitest';
import { formatSeconds, isFinalRunState, stateStyle, stateWord, TASK_STATES } from './taskStates';

describe('stateStyle', () => {
  it('gives every state a distinct icon and word, so colour is never the only cue', () => {
    const icons = new Set(TASK_STATES.map((s) => stateStyle(s).icon));
    const words = new Set(TASK_STATES.map((s) => stateStyle(s).word));
    expect(icons.size).toBe(TASK_STATES.length);
    expect(words.size).toBe(TASK_STATES.length);
  });

  it('keeps the families users know from Airflow and GitLab', () => {
    expect(stateStyle('succeeded').family).toBe('green');
    expect(stateStyle('failed').family).toBe('red');
    expect(stateStyle('upstream_failed').family).toBe('orange');
    expect(stateStyle('running').family).toBe('blue');
    expect(stateStyle('running').animated).toBe(true);
    expect(stateStyle('queued').icon).toBe('clock');
    expect(stateStyle('reused').hatched).toBe(true);
  });

  it('shows an unknown state by its own name in a neutral look', () => {
    expect(stateStyle('deferred')).toMatchObject({ family: 'neutral', word: 'deferred', icon: 'unknown' });
    expect(stateStyle('up_for_retry').word).toBe('up for retry');
    expect(stateStyle(null).word).toBe('no run');
  });
});

describe('stateWord', () => {
  it('says what is known', () => {
    expect(stateWord('pending')).toBe('waiting for upstream');
    expect(stateWord('leased', { runner: 'gpu-1' })).toBe('picked up by gpu-1');
    expect(stateWord('running', { seconds: 12.2 })).toBe('running for 12 s');
    expect(stateWord('succeeded', { seconds: 0.84 })).toBe('succeeded in 0.8 s');
    expect(stateWord('failed', { attempt: 2, maxAttempts: 3 })).toBe('failed (attempt 2 of 3)');
    expect(stateWord('failed', { attempt: 1, maxAttempts: 1 })).toBe('failed');
    expect(stateWord('reused', { reusedFromRun: 12 })).toBe('reused from run 12');
    expect(stateWord('upstream_failed')).toBe('upstream failed');
  });
});

describe('formatSeconds', () => {
  it('reads like a person would say it', () => {
    expect(formatSeconds(0.04)).toBe('0 s');
    expect(formatSeconds(59.6)).toBe('60 s');
    expect(formatSeconds(184)).toBe('3 min 4 s');
    expect(formatSeconds(120)).toBe('2 min');
    expect(formatSeconds(7500)).toBe('2 h 5 min');
    expect(formatSeconds(-1)).toBe('');
  });
});

describe('isFinalRunState', () => {
  it('treats only ended runs as final, so polling goes on otherwise', () => {
    expect(isFinalRunState('running')).toBe(false);
    expect(isFinalRunState('succeeded')).toBe(true);
    expect(isFinalRunState('cancelled')).toBe(true);
    expect(isFinalRunState(undefined)).toBe(false);
  });
});
