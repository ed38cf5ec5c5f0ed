// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, expect, it, vi } from 'vitest';
import { ncToModel } from '../../lib/ncGraph';
import { Inspector } from './Inspector';

afterEach(cleanup);

const t = (opts: Record<string, unknown>, value: unknown = null) => ({ value, flipped: false, opts });
const model = ncToModel({
  f: { type: 'Node', name: 'Float', uniquename: 'f', pos: [0, 0], path: ['types', 'Float'], terminals: { float: t({ out: true, dtype: "<class 'float'>" }, 1.5) } },
  s: {
    type: 'Node', name: 'Mixed', uniquename: 's', pos: [300, 0], path: ['g', 'Mixed'],
    requirements: { executor: 'shell', env: { A: '1' } },
    terminals: {
      x: t({ in: true, dtype: "<class 'float'>" }),
      flag: t({ in: true, dtype: "<class 'bool'>" }, false),
      items: t({ in: true, dtype: "<class 'list'>" }, [1, 2]),
      text: t({ in: true, dtype: "<class 'str'>" }, 'a'),
      out: t({ out: true }, 3),
    },
  },
  c: { type: 'Connection', input: ['f', 'float'], output: ['s', 'x'] },
});

function renderNode(id: string) {
  const props = { onValue: vi.fn(), onRequirements: vi.fn(), onFeedback: vi.fn(), onDelete: vi.fn(), onClose: vi.fn() };
  render(<Inspector model={model} node={model.nodes.find((n) => n.id === id)!} edge={null} {...props} />);
  return props;
}

it('edits values by dtype, applied on Enter or leaving the field, and says which inputs are connected', () => {
  const props = renderNode('s');
  expect(screen.getByText(/connected \(the value comes from upstream\)/)).toBeTruthy();
  fireEvent.click(screen.getByLabelText('flag (bool)'));
  expect(props.onValue).toHaveBeenLastCalledWith('s', 'flag', true);
  const items = screen.getByLabelText('items (list)');
  fireEvent.change(items, { target: { value: '[1, 2, 3]' } });
  fireEvent.blur(items);
  expect(props.onValue).toHaveBeenLastCalledWith('s', 'items', [1, 2, 3]);
  fireEvent.change(items, { target: { value: '[1,' } });
  expect(screen.getByText(/Expected valid JSON/)).toBeTruthy();
  const text = screen.getByLabelText('text (str)');
  fireEvent.change(text, { target: { value: 'b' } });
  fireEvent.keyDown(text, { key: 'Enter' });
  expect(props.onValue).toHaveBeenLastCalledWith('s', 'text', 'b');
  expect(screen.getByText(/last computed/)).toBeTruthy();
});

it('edits the value a constant node emits, refusing what is not a number', () => {
  const props = renderNode('f');
  const field = screen.getByLabelText('float (float)');
  fireEvent.change(field, { target: { value: 'two' } });
  fireEvent.blur(field);
  expect(props.onValue).not.toHaveBeenCalled();
  expect(screen.getByText(/Expected a number/)).toBeTruthy();
  fireEvent.change(field, { target: { value: '2' } });
  fireEvent.blur(field);
  expect(props.onValue).toHaveBeenCalledWith('f', 'float', 2);
});

it('sets requirements, keeping the keys the form does not show', () => {
  const props = renderNode('s');
  fireEvent.change(screen.getByLabelText('Tags (all needed on the runner)'), { target: { value: 'gpu, fast' } });
  fireEvent.change(screen.getByLabelText('Wall time (seconds)'), { target: { value: '90' } });
  fireEvent.click(screen.getByRole('button', { name: 'Apply requirements' }));
  expect(props.onRequirements).toHaveBeenCalledWith('s', { executor: 'shell', env: { A: '1' }, tags: ['gpu', 'fast'], walltime_s: 90 });
  fireEvent.change(screen.getByLabelText('Tags (all needed on the runner)'), { target: { value: 'bad tag!' } });
  fireEvent.click(screen.getByRole('button', { name: 'Apply requirements' }));
  expect(screen.getByRole('alert').textContent).toContain('Tag “bad tag!”');
  expect(props.onRequirements).toHaveBeenCalledTimes(1);
});
