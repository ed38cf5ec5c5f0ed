/// <reference types="node" />
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { modelToNc, ncToModel, overridableTerminals, parseDtype } from './ncGraph';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '__fixtures__');
// <repo>/../shared/nodeworks-samples: real Nodeworks files, present on the team's machines, not in the repo.
const samples = resolve(here, '../../../../shared/nodeworks-samples');

function read(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

describe('ncToModel / modelToNc on the hand-made fixtures', () => {
  it('reads nodes, terminals by direction, dtype and positions', () => {
    const model = ncToModel(read(join(fixtures, 'feedback.nc')));
    expect(model.nodes.map((n) => n.id)).toEqual(['counter', 'one']);
    const counter = model.nodes[0];
    expect(counter.name).toBe('Counter');
    expect(counter.path).toEqual(['math', 'Add']);
    expect(counter.pos).toEqual({ x: 100, y: 200 });
    expect(counter.inputs.map((t) => [t.name, t.multiinput, t.dtype])).toEqual([
      ['a', true, 'float'],
      ['previous', false, 'float'],
    ]);
    expect(counter.outputs.map((t) => [t.name, t.value])).toEqual([['result', 1]]);
    expect(model.nodes[1].inputs).toEqual([]);
    expect(model.nodes[1].outputs[0]).toEqual({ name: 'int', value: 1, multiinput: false, dtype: 'int' });
  });

  it('joins connections from source output to destination input, marking feedback', () => {
    const model = ncToModel(read(join(fixtures, 'feedback.nc')));
    expect(model.edges.map((e) => [e.id, e.source, e.sourceHandle, e.target, e.targetHandle, e.feedback])).toEqual([
      ['connection', 'one', 'int', 'counter', 'a', false],
      ['connection.0', 'counter', 'result', 'counter', 'previous', true],
      ['connection.1', 'one', 'int', 'counter', 'a', false],
    ]);
    expect(model.problems).toEqual([]);
  });

  it('round-trips every fixture to an equal object with the same key order', () => {
    for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.nc'))) {
      const nc = read(join(fixtures, file));
      const back = modelToNc(ncToModel(nc));
      expect(back, file).toEqual(nc);
      expect(JSON.stringify(back), file).toBe(JSON.stringify(nc));
    }
  });

  it('keeps missing positions missing, reports connections it cannot draw, keeps non-graph entries', () => {
    const nc = read(join(fixtures, 'no_positions.nc'));
    const model = ncToModel(nc);
    expect(model.nodes.find((n) => n.id === 'a')?.pos).toBeNull();
    expect(model.nodes.find((n) => n.id === 'b')?.inputs[0].dtype).toBeUndefined();
    expect(model.edges.map((e) => e.id)).toEqual(['link']);
    expect(model.problems).toEqual(['connection broken names a terminal its node does not have']);
    expect(Object.keys(model.others)).toEqual(['meta', 'broken']);
    expect(modelToNc(model)).toEqual(nc);
  });

  it('writes what the model changed and nothing else', () => {
    const nc = read(join(fixtures, 'feedback.nc')) as Record<string, Record<string, unknown>>;
    const model = ncToModel(nc);
    model.nodes[0].pos = { x: 1, y: 2 };
    model.edges[1].feedback = false;
    model.edges = model.edges.filter((e) => e.id !== 'connection.1');
    const back = modelToNc(model) as Record<string, Record<string, unknown>>;
    expect(back.counter.pos).toEqual([1, 2]);
    expect(back.counter.futureKey).toEqual(nc.counter.futureKey);
    expect(back.counter.terminals).toEqual(nc.counter.terminals);
    expect(back['connection.0'].feedback).toBe(false);
    expect(back['connection.1']).toBeUndefined();
    expect(nc.counter.pos).toEqual([100, 200]); // the input object is not mutated
  });

  it('writes a node and a connection made in the browser with the keys Nodeworks writes', () => {
    const model = ncToModel(read(join(fixtures, 'feedback.nc')));
    model.nodes.push({
      id: 'float.9',
      name: 'Float',
      path: ['types', 'Float'],
      pos: { x: 5, y: 6 },
      inputs: [],
      outputs: [{ name: 'float', value: 2.5, multiinput: false, dtype: 'float' }],
      raw: {},
    });
    model.edges.push({ id: 'connection.9', source: 'float.9', sourceHandle: 'float', target: 'counter', targetHandle: 'a', feedback: false, raw: {} });
    const nc = modelToNc(model) as Record<string, Record<string, unknown>>;
    expect(Object.keys(nc).slice(-2)).toEqual(['float.9', 'connection.9']);
    expect(nc['float.9']).toMatchObject({ type: 'Node', uniquename: 'float.9', pos: [5, 6], layer: 0, customState: null });
    expect(nc['float.9'].terminals).toEqual({
      float: { value: 2.5, flipped: false, opts: { in: false, out: true, multiinput: false, dtype: "<class 'float'>" } },
    });
    expect(nc['connection.9']).toEqual({
      type: 'Connection',
      name: 'connection.9',
      uniquename: 'connection.9',
      line: 'cubic',
      controlpoints: [],
      input: ['float.9', 'float'],
      output: ['counter', 'a'],
    });
    // What was written reads back as the same graph.
    const again = ncToModel(nc);
    expect(again.edges.map((e) => e.id)).toContain('connection.9');
    expect(again.problems).toEqual([]);
  });

  it('lists the terminals a run may override: unconnected inputs and constants of input-less nodes', () => {
    const model = ncToModel(read(join(fixtures, 'feedback.nc')));
    expect(overridableTerminals(model).map((t) => [t.key, t.kind])).toEqual([['one.int', 'constant']]);
    const other = ncToModel(read(join(fixtures, 'no_positions.nc')));
    expect(overridableTerminals(other).map((t) => t.key)).toEqual(['a.float', 'c.input']);
  });

  it('parses dtypes', () => {
    expect(parseDtype("<class 'numpy.ndarray'>")).toBe('numpy.ndarray');
    expect(parseDtype('None')).toBeUndefined();
    expect(parseDtype(undefined)).toBeUndefined();
    expect(parseDtype('float64')).toBe('float64');
  });

  it('never throws on garbage', () => {
    expect(ncToModel(null).problems).toEqual(['the workflow file is not a JSON object']);
    expect(ncToModel([1, 2]).nodes).toEqual([]);
  });
});

describe('the real Nodeworks samples', () => {
  const present = existsSync(samples);
  if (!present && process.env.CI === 'true') {
    it('are present under CI', () => {
      throw new Error(`sample .nc files missing at ${samples}`);
    });
  }

  it.skipIf(!present)('round-trip equal', () => {
    const files = readdirSync(samples).filter((f) => f.endsWith('.nc'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const nc = read(join(samples, file));
      expect(modelToNc(ncToModel(nc)), file).toEqual(nc);
    }
  });

  it.skipIf(!present)('read node_ex.nc the right way round', () => {
    const model = ncToModel(read(join(samples, 'node_ex.nc')));
    expect(model.nodes.map((n) => n.name).sort()).toEqual(['Integer', 'Multiply', 'Power', 'Root', 'Subtract']);
    expect(model.edges.map((e) => `${e.source}.${e.sourceHandle}->${e.target}.${e.targetHandle}`)).toEqual([
      'power.result->multiply.input',
      'integer.int->multiply.input',
      'multiply.result->subtract.minuend',
      'root.result->subtract.subtrahend',
    ]);
    expect(overridableTerminals(model).map((t) => t.key)).toEqual([
      'power.base',
      'power.exponent',
      'integer.int',
      'root.radicand',
      'root.degree',
    ]);
    expect(model.problems).toEqual([]);
  });
});
