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

  it('reads the server\'s answer (GET nodes/library), built-in defaults filling the values it does not give', () => {
    const nodes = parseLibrary({
      source: 'runners',
      runners: [{ id: 1, name: 'r', online: true, reported: '2026-01-01T00:00:00Z', nodes: 2 }],
      nodes: [
        { path: ['types', 'Float'], group: 'types', name: 'Float', source: 'builtin', doc: 'Float: emits.', online: true, runners: [1],
          terminals: [{ name: 'float', dtype: "<class 'float'>", multiinput: false, in: false, out: true }] },
        { path: ['plugins', 'Old'], group: 'plugins', name: 'Old', source: 'plugin', doc: '', online: false, runners: [2], terminals: [] },
      ],
    })!;
    expect(nodes[0]).toEqual({ path: ['types', 'Float'], doc: 'Float: emits.', online: true, terminals: [{ name: 'float', in: false, multiinput: false, value: 0, dtype: 'float' }] });
    // Only offline runners offer plugins/Old: a node of that path is marked.
    expect([...unavailableNodes([{ id: 'x', path: ['plugins', 'Old'] }, { id: 'f', path: ['types', 'Float'] }], nodes)]).toEqual(['x']);
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
