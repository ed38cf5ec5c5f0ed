/**
 * Values as the side panel shows them: short. Arrays and ndarrays are summarised (shape, dtype, the first
 * few values), never dumped: a node's output may hold millions of numbers.
 */

export interface ValueSummary {
  /** What kind of value: "number", "text", "array", "ndarray", "artifact", "object", "null", "boolean". */
  kind: string;
  /** One line to show. */
  text: string;
  /** "shape 3 × 4, float64" for arrays. */
  detail?: string;
  /** An artifact reference, when the value is one. */
  artifactId?: string;
}

const PREVIEW_ITEMS = 5;
const MAX_TEXT = 200;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clip(text: string, max = MAX_TEXT): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toString();
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return value.toExponential(4);
  return Number(value.toPrecision(8)).toString();
}

function scalarText(value: unknown): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (isObject(value) && value.$nw === 'float') return String(value.v);
  if (Array.isArray(value)) return `[${value.length.toString()} items]`;
  if (isObject(value)) return '{…}';
  return String(value);
}

/** Shape of a nested list, when it is rectangular enough to have one ([2, 3] for [[1,2,3],[4,5,6]]). */
function listShape(value: unknown[]): number[] {
  const shape = [value.length];
  let inner: unknown = value[0];
  while (Array.isArray(inner)) {
    shape.push(inner.length);
    inner = inner[0];
  }
  return shape;
}

function flatPreview(value: unknown[], count: number): unknown[] {
  const out: unknown[] = [];
  const stack: unknown[][] = [value];
  const indices = [0];
  while (stack.length && out.length < count) {
    const top = stack[stack.length - 1];
    const i = indices[indices.length - 1];
    if (i >= top.length) {
      stack.pop();
      indices.pop();
      continue;
    }
    indices[indices.length - 1] = i + 1;
    const item = top[i];
    if (Array.isArray(item)) {
      stack.push(item);
      indices.push(0);
    } else out.push(item);
  }
  return out;
}

const DTYPE_BYTES: Record<string, [number, (view: DataView, offset: number, little: boolean) => number]> = {
  float64: [8, (v, o, l) => v.getFloat64(o, l)],
  float32: [4, (v, o, l) => v.getFloat32(o, l)],
  int64: [8, (v, o, l) => Number(v.getBigInt64(o, l))],
  int32: [4, (v, o, l) => v.getInt32(o, l)],
  int16: [2, (v, o, l) => v.getInt16(o, l)],
  int8: [1, (v, o) => v.getInt8(o)],
  uint64: [8, (v, o, l) => Number(v.getBigUint64(o, l))],
  uint32: [4, (v, o, l) => v.getUint32(o, l)],
  uint16: [2, (v, o, l) => v.getUint16(o, l)],
  uint8: [1, (v, o) => v.getUint8(o)],
  bool: [1, (v, o) => v.getUint8(o)],
};

/** The first values of a tagged ndarray's base64 data, for the dtypes numpy writes ("<f8", "float64", …). */
export function ndarrayPreview(dtype: string, data: string, count = PREVIEW_ITEMS): number[] | null {
  const little = !dtype.startsWith('>');
  const short: Record<string, string> = {
    f8: 'float64', f4: 'float32', i8: 'int64', i4: 'int32', i2: 'int16', i1: 'int8',
    u8: 'uint64', u4: 'uint32', u2: 'uint16', u1: 'uint8', b1: 'bool',
  };
  const name = short[dtype.replace(/^[<>=|]/, '')] ?? dtype;
  const spec = DTYPE_BYTES[name];
  if (!spec) return null;
  const [size, read] = spec;
  // Decode only the bytes the preview needs: base64 quads of 3 bytes.
  const needed = Math.ceil((size * count) / 3) * 4;
  let binary: string;
  try {
    binary = atob(data.slice(0, needed));
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const values: number[] = [];
  for (let offset = 0; offset + size <= bytes.length && values.length < count; offset += size) {
    values.push(read(view, offset, little));
  }
  return values;
}

export function summarizeValue(value: unknown): ValueSummary {
  if (value === null || value === undefined) return { kind: 'null', text: 'null' };
  if (typeof value === 'number') return { kind: 'number', text: formatNumber(value) };
  if (typeof value === 'boolean') return { kind: 'boolean', text: String(value) };
  if (typeof value === 'string') return { kind: 'text', text: clip(JSON.stringify(value)) };
  if (Array.isArray(value)) {
    const shape = listShape(value);
    const preview = flatPreview(value, PREVIEW_ITEMS).map(scalarText);
    const total = shape.reduce((a, b) => a * b, 1);
    return {
      kind: 'array',
      text: value.length === 0 ? '[]' : `[${preview.join(', ')}${total > preview.length ? ', …' : ''}]`,
      detail: `list, shape ${shape.join(' × ')}`,
    };
  }
  if (isObject(value)) {
    if (value.$nw === 'ndarray') {
      const shape = Array.isArray(value.shape) ? value.shape.map(Number) : [];
      const dtype = typeof value.dtype === 'string' ? value.dtype : '?';
      const total = shape.reduce((a, b) => a * b, 1);
      const preview = typeof value.data === 'string' ? ndarrayPreview(dtype, value.data) : null;
      return {
        kind: 'ndarray',
        text: preview ? `[${preview.map(formatNumber).join(', ')}${total > preview.length ? ', …' : ''}]` : '(binary data)',
        detail: `ndarray, shape ${shape.length ? shape.join(' × ') : 'scalar'}, ${dtype}`,
      };
    }
    if (value.$nw === 'float') return { kind: 'number', text: String(value.v) };
    if (value.$nw === 'artifact') {
      const id = typeof value.id === 'string' ? value.id : String(value.id);
      return { kind: 'artifact', text: `artifact ${typeof value.name === 'string' ? value.name : id}`, artifactId: id };
    }
    const keys = Object.keys(value);
    return { kind: 'object', text: clip(`{${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}}`), detail: `${keys.length.toString()} keys` };
  }
  return { kind: typeof value, text: clip(String(value)) };
}
