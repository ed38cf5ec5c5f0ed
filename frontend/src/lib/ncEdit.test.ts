import { describe, expect, it } from 'vitest';
import { addConnection, addNode, copyNodes, moveNodes, paste, removeObjects, setFeedback, setRequirements, setTerminalValue, uniqueName } from './ncEdit';
import { modelToNc, ncToModel, type JsonObject } from './ncGraph';
import { readFixture, readSample, requireSamples, SAMPLE_NAMES, samplesPresent } from './__fixtures__/samples';
import { BUILTIN_NODES } from './nodeLibrary';

const feedback = () => readFixture('feedback.nc') as JsonObject;
const float = BUILTIN_NODES.find((n) => n.path.join('/') === 'types/Float')!;

describe('the writer keeps every key of the real samples', () => {
  requireSamples();
  it.skipIf(!samplesPresent).each(SAMPLE_NAMES)('%s: no edit → the same JSON; edits touch only their keys', (name) => {
    const { text, json } = readSample(name);
    // Unedited: what is published is what was loaded, as JSON.
    expect(JSON.parse(JSON.stringify(json))).toEqual(JSON.parse(text));
    expect(JSON.stringify(json)).toBe(JSON.stringify(JSON.parse(text)));
    // The model path (ncGraph) too.
    expect(JSON.stringify(modelToNc(ncToModel(json)))).toBe(JSON.stringify(json));

    const doc = json as JsonObject;
    const firstNode = Object.keys(doc).find((k) => (doc[k] as JsonObject).type === 'Node')!;
    const moved = moveNodes(doc, new Map([[firstNode, { x: 1, y: 2 }]]));
    const back = moveNodes(moved, new Map([[firstNode, { x: (doc[firstNode] as JsonObject).pos![0 as never] as number, y: (doc[firstNode] as JsonObject).pos![1 as never] as number }]]));
    expect(JSON.parse(JSON.stringify(back))).toEqual(JSON.parse(text));
    // Only the moved node's pos differs; every other object is the very same object.
    for (const key of Object.keys(doc)) {
      if (key === firstNode) {
        const { pos: _a, ...restMoved } = moved[key] as JsonObject;
        const { pos: _b, ...restOld } = doc[key] as JsonObject;
        expect(restMoved).toEqual(restOld);
        expect(Object.keys(moved[key] as JsonObject)).toEqual(Object.keys(doc[key] as JsonObject));
      } else expect(moved[key]).toBe(doc[key]);
    }
    expect(Object.keys(moved)).toEqual(Object.keys(doc));
  });

  it.skipIf(!samplesPresent)('node_ex.nc: the edits of the browser spec keep terminal options and layer', () => {
    const doc = readSample('node_ex.nc').json as JsonObject;
    let next = removeObjects(doc, ['connection']); // Power → Multiply
    const added = addNode(next, float, { x: 5000, y: 5150 });
    next = setTerminalValue(added.doc, added.id, 'float', 2);
    next = addConnection(next, { source: added.id, sourceHandle: 'float', target: 'multiply', targetHandle: 'input' }).doc;
    expect(added.id).toBe('float');
    expect(next.connection).toMatchObject({ input: ['float', 'float'], output: ['multiply', 'input'], line: 'cubic', controlpoints: [] });
    expect((next.power as JsonObject).terminals).toBe((doc.power as JsonObject).terminals);
    expect((next.float as JsonObject).layer).toBe(0);
    expect(((next.float as JsonObject).terminals as JsonObject).float).toMatchObject({ value: 2, opts: { out: true, dtype: "<class 'float'>" } });
  });
});

describe('edits', () => {
  it('names new objects as Nodeworks does', () => {
    const doc = feedback();
    expect(uniqueName(doc, 'Counter')).toBe('counter.0');
    expect(uniqueName(doc, 'connection')).toBe('connection.2');
    expect(uniqueName(doc, 'Float')).toBe('float');
    expect(uniqueName(doc, 'Float', new Set(['float']))).toBe('float.0');
  });

  it('removing a node removes its connections; removing nothing returns the same document', () => {
    const doc = feedback();
    const next = removeObjects(doc, ['one']);
    expect(Object.keys(next)).toEqual(['counter', 'connection.0']);
    expect(removeObjects(doc, ['nosuch'])).toBe(doc);
  });

  it('a new node carries every node key of a Nodeworks file', () => {
    const { doc, id } = addNode({}, float, { x: 10.4, y: 20.6 });
    expect(Object.keys(doc[id] as JsonObject)).toEqual(['type', 'name', 'uniquename', 'pos', 'path', 'terminals', 'tunnel', 'forcerun', 'hidden', 'customState', 'layer']);
    expect((doc[id] as JsonObject).pos).toEqual([10, 21]);
    expect(ncToModel(doc).nodes[0].outputs[0]).toEqual({ name: 'float', value: 0, multiinput: false, dtype: 'float' });
  });

  it('sets values and requirements without touching anything else', () => {
    const doc = feedback();
    const next = setTerminalValue(doc, 'counter', 'a', [1, 2]);
    expect(((next.counter as JsonObject).terminals as Record<string, JsonObject>).a).toEqual({
      ...((doc.counter as JsonObject).terminals as Record<string, JsonObject>).a,
      value: [1, 2],
    });
    expect(setTerminalValue(doc, 'counter', 'a', 1)).toBe(doc);
    const req = setRequirements(doc, 'counter', { executor: 'shell', tags: ['gpu'], walltime_s: 60 });
    expect((req.counter as JsonObject).requirements).toEqual({ executor: 'shell', tags: ['gpu'], walltime_s: 60 });
    expect('requirements' in (setRequirements(req, 'counter', {}).counter as JsonObject)).toBe(false);
  });

  it('copies a selection with its inner connections and pastes it under fresh names', () => {
    const doc = feedback();
    const clip = copyNodes(doc, ['counter']);
    expect(clip.nodes.map((n) => n.uniquename)).toEqual(['counter']);
    // The self-connection (feedback) comes along; the one from `one` does not.
    expect(clip.connections.map((c) => c.uniquename)).toEqual(['connection.0']);
    const { doc: next, ids } = paste(doc, clip, { x: 40, y: 40 });
    expect(ids).toEqual(['counter.0']);
    expect((next['counter.0'] as JsonObject).pos).toEqual([140, 240]);
    expect(next['connection.2']).toMatchObject({ input: ['counter.0', 'result'], output: ['counter.0', 'previous'], feedback: true });
    expect(ncToModel(next).problems).toEqual([]);
  });

  it('turns a connection into a feedback one', () => {
    const doc = feedback();
    expect((setFeedback(doc, 'connection', true).connection as JsonObject).feedback).toBe(true);
    expect(setFeedback(doc, 'connection.0', true)).toBe(doc);
  });

  it('reuses the model objects of nodes an edit did not touch', () => {
    const doc = feedback();
    const before = ncToModel(doc);
    const after = ncToModel(moveNodes(doc, new Map([['one', { x: 5, y: 5 }]])), before);
    expect(after.nodes[0]).toBe(before.nodes[0]);
    expect(after.nodes[1]).not.toBe(before.nodes[1]);
    expect(after.nodes[1].pos).toEqual({ x: 5, y: 5 });
  });
});
