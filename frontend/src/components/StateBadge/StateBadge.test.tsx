// @vitest-environment happy-dom
import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { StateBadge } from './StateBadge';

describe('StateBadge', () => {
  it('shows an icon and a word, never colour alone', () => {
    const { container } = render(<StateBadge state="upstream_failed" />);
    expect(screen.getByText('upstream failed')).toBeTruthy();
    expect(container.querySelector('svg[aria-hidden="true"]')).toBeTruthy();
    expect(container.querySelector('[data-state="upstream_failed"]')).toBeTruthy();
  });

  it('words the state with its context, or a label given', () => {
    render(<StateBadge state="leased" context={{ runner: 'gpu-1' }} />);
    expect(screen.getByText('picked up by gpu-1')).toBeTruthy();
    render(<StateBadge state="succeeded" label="3 succeeded" />);
    expect(screen.getByText('3 succeeded')).toBeTruthy();
  });

  it('says "no run" without a state', () => {
    render(<StateBadge state={null} />);
    expect(screen.getByText('no run')).toBeTruthy();
  });
});
