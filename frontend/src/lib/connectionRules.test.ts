import { describe, expect, it } from 'vitest';
import { checkConnection, dtypesCompatible, type ProposedConnection } from './connectionRules';
import { ncToModel, type GraphModel, type JsonObject } from './ncGraph';
import { readFixture, readSample, requireSamples, SAMPLE_NAMES, samplesPresent } from './__fixtures__/samples';
import { addConnection, addNode, removeObjects } from './ncEdit';

function t(_name: string, opts: { in?: boolean; multi?: boolean; dtype?: string; value?: unknown } = {}) {
  return {
    value: opts.value ?? null,
    flipped: false,
    opts: { in: !!opts.in, out: !opts.in, multiinput: !!opts.multi, dtype: opts.dtype ? `<class '${opts.dtype}'>` : 'None' },
  };
}
function node(id: string, terminals: Record<string, unknown>) {
  return { type: 'Node', name: id, uniquename: id, pos: [0, 0], path: ['g', id], terminals };
}
function conn(id: string, from: [string, string], to: [string, string], feedback = false) {
  return { type: 'Connection', name: id, uniquename: id, input: from, output: to, controlpoints: [], ...(feedback ? { feedback } : {}) };
}

// a → b → c, each with one float in (single), one float out; m has a multiinput; s gives a str.
const doc = {
  a: node('a', { x: t('x', { in: true, dtype: 'float' }), y: t('y', { dtype: 'float' }) }),
  b: node('b', { x: t('x', { in: true, dtype: 'float' }), y: t('y', { dtype: 'float' }) }),
  c: node('c', { x: t('x', { in: true, dtype: 'float' }), y: t('y', { dtype: 'float' }) }),
  m: node('m', { input: t('input', { in: true, multi: true, dtype: 'float' }), result: t('result', { dtype: 'float' }) }),
  s: node('s', { string: t('string', { dtype: 'str' }) }),
  i: node('i', { int: t('int', { dtype: 'int' }) }),
  u: node('u', { any: t('any', { in: true }), out: t('out') }),
  ab: conn('ab', ['a', 'y'], ['b', 'x']),
  bc: conn('bc', ['b', 'y'], ['c', 'x']),
} as unknown as JsonObject;
const model: GraphModel = ncToModel(doc);
const check = (c: ProposedConnection) => checkConnection(model, c);
const reason = (c: ProposedConnection) => {
  const r = check(c);
  return r.ok ? null : r.reason;
};

describe('checkConnection', () => {
  it('accepts an output into a free input of a compatible type', () => {
    expect(check({ source: 'c', sourceHandle: 'y', target: 'm', targetHandle: 'input' })).toEqual({ ok: true });
  });

  it('refuses input to input and output to output, saying which way connections go', () => {
    expect(reason({ source: 'a', sourceHandle: 'x', target: 'm', targetHandle: 'input' })).toMatch(/is an input: a connection goes from an output/);
    expect(reason({ source: 'c', sourceHandle: 'y', target: 'm', targetHandle: 'result' })).toMatch(/is an output/);
    expect(reason({ source: 'c', sourceHandle: 'nope', target: 'm', targetHandle: 'input' })).toMatch(/has no output “nope”/);
    expect(reason({ source: 'gone', sourceHandle: 'y', target: 'm', targetHandle: 'input' })).toMatch(/not in the workflow/);
  });

  it('refuses a second connection into a single input, naming the one it has', () => {
    expect(reason({ source: 'c', sourceHandle: 'y', target: 'b', targetHandle: 'x' })).toBe(
      'Input “x” of b takes one connection and already has one (from a.y). Delete that connection first.',
    );
  });

  it('lets a multiinput take several connections but not the same one twice', () => {
    const two = ncToModel(addConnection(doc, { source: 'a', sourceHandle: 'y', target: 'm', targetHandle: 'input' }).doc);
    expect(checkConnection(two, { source: 'b', sourceHandle: 'y', target: 'm', targetHandle: 'input' })).toEqual({ ok: true });
    const again = checkConnection(two, { source: 'a', sourceHandle: 'y', target: 'm', targetHandle: 'input' });
    expect(again.ok ? null : again.reason).toMatch(/already connected/);
  });

  it('refuses incompatible declared types and allows undeclared ones', () => {
    expect(reason({ source: 's', sourceHandle: 'string', target: 'm', targetHandle: 'input' })).toBe(
      'Types do not match: s.string gives str, m.input takes float.',
    );
    expect(check({ source: 'i', sourceHandle: 'int', target: 'm', targetHandle: 'input' })).toEqual({ ok: true });
    expect(check({ source: 's', sourceHandle: 'string', target: 'u', targetHandle: 'any' })).toEqual({ ok: true });
    expect(check({ source: 'u', sourceHandle: 'out', target: 'm', targetHandle: 'input' })).toEqual({ ok: true });
  });

  it('refuses a cycle, naming it, unless the new connection is a feedback one', () => {
    expect(reason({ source: 'c', sourceHandle: 'y', target: 'a', targetHandle: 'x' })).toBe(
      'This would make a cycle (a → b → c → a). Only a feedback connection, which takes the last run’s value, may close a loop.',
    );
    expect(check({ source: 'c', sourceHandle: 'y', target: 'a', targetHandle: 'x', feedback: true })).toEqual({ ok: true });
    expect(reason({ source: 'a', sourceHandle: 'y', target: 'a', targetHandle: 'x' })).toMatch(/cannot feed itself/);
    expect(check({ source: 'a', sourceHandle: 'y', target: 'a', targetHandle: 'x', feedback: true })).toEqual({ ok: true });
  });

  it('allows a loop that an existing feedback connection already breaks', () => {
    // c → a as feedback, then a → … → c is no cycle of ordering connections.
    const withFeedback = { ...removeObjects(doc, ['bc']), ca: conn('ca', ['c', 'y'], ['a', 'x'], true) };
    const m = ncToModel(withFeedback);
    expect(checkConnection(m, { source: 'b', sourceHandle: 'y', target: 'c', targetHandle: 'x' })).toEqual({ ok: true });
    // The hand-made feedback fixture: counter.result feeds counter.previous as feedback.
    const fb = ncToModel(readFixture('feedback.nc'));
    expect(fb.edges.some((e) => e.feedback && e.source === e.target)).toBe(true);
  });

  it('checks against the current document (a node added from the palette)', () => {
    const { doc: next, id } = addNode(doc, { path: ['types', 'Float'], terminals: [{ name: 'float', in: false, dtype: 'float', value: 2 }] }, { x: 0, y: 0 });
    expect(checkConnection(ncToModel(next), { source: id, sourceHandle: 'float', target: 'm', targetHandle: 'input' })).toEqual({ ok: true });
  });
});

describe('dtypesCompatible', () => {
  it('widens numbers, pairs lists and arrays, and knows numpy scalars', () => {
    expect(dtypesCompatible('int', 'float')).toBe(true);
    expect(dtypesCompatible('float', 'int')).toBe(false);
    expect(dtypesCompatible('bool', 'float')).toBe(true);
    expect(dtypesCompatible('numpy.float64', 'float')).toBe(true);
    expect(dtypesCompatible('list', 'numpy.ndarray')).toBe(true);
    expect(dtypesCompatible('str', 'numpy.ndarray')).toBe(false);
    expect(dtypesCompatible(undefined, 'str')).toBe(true);
    expect(dtypesCompatible('object', 'str')).toBe(true);
  });
});

describe('every connection of the real samples passes the rules', () => {
  requireSamples();
  it.skipIf(!samplesPresent).each(SAMPLE_NAMES)('%s', (name) => {
    const nc = readSample(name).json;
    const full = ncToModel(nc);
    expect(full.edges.length).toBeGreaterThan(0);
    for (const edge of full.edges) {
      // Each connection checked against the file without it.
      const without = ncToModel(removeObjects(nc as never, [edge.id]));
      expect(checkConnection(without, edge)).toEqual({ ok: true });
    }
  });
});
