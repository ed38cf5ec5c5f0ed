import { describe, expect, it } from 'vitest';
import { BUILTIN_NODES, groupLibrary, parseLibrary, unavailableNodes } from './nodeLibrary';

describe('node library', () => {
  it('reads a list of nodes with terminal lists or Nodeworks terminal maps', () => {
    const nodes = parseLibrary({
      nodes: [
        { path: ['math', 'Multiply'], doc: 'Multiply: product.\nMore.', terminals: [
          { name: 'input', in: true, out: false, multiinput: true, dtype: "<class 'float'>" },
          { name: 'result', in: false, out: true, dtype: 'float' },
        ] },
        { path: 'plugins/Word count', terminals: { text: { opts: { in: true, dtype: "<class 'str'>" } }, count: { opts: { out: true } } } },
        { path: ['math', 'Multiply'], terminals: [] },
        { nopath: true },
      ],
    });
    expect(nodes).toEqual([
      { path: ['math', 'Multiply'], doc: 'Multiply: product.', terminals: [
        { name: 'input', in: true, multiinput: true, value: null, dtype: 'float' },
        { name: 'result', in: false, multiinput: false, value: null, dtype: 'float' },
      ] },
      { path: ['plugins', 'Word count'], terminals: [
        { name: 'text', in: true, multiinput: false, value: null, dtype: 'str' },
        { name: 'count', in: false, multiinput: false, value: null },
      ] },
    ]);
  });

  it('answers null for nothing usable, so the built-in list is used', () => {
    expect(parseLibrary({ nodes: [] })).toBeNull();
    expect(parseLibrary({ detail: 'Not found' })).toBeNull();
    expect(parseLibrary([])).toBeNull();
  });

  it('groups by path and searches names, paths and descriptions', () => {
    const groups = groupLibrary(BUILTIN_NODES);
    expect(groups.map((g) => g.group)).toEqual(['math', 'matplotlib', 'numpy', 'shell', 'types']);
    expect(groupLibrary(BUILTIN_NODES, 'float').flatMap((g) => g.nodes.map((n) => n.path.join('/')))).toEqual(['types/Float']);
    expect(groupLibrary(BUILTIN_NODES, 'product')[0].nodes[0].path).toEqual(['math', 'Multiply']);
  });

  it('marks nodes whose path no runner offers', () => {
    const marked = unavailableNodes([{ id: 'a', path: ['math', 'Add'] }, { id: 'b', path: ['my custom nodes', 'x'] }], BUILTIN_NODES);
    expect([...marked]).toEqual(['b']);
  });
});
