/**
 * The one decoder for arrays sent by the kernel (see workbench/widgets/_buffers.py).
 *
 * An array travels as a payload `{view, dtype, shape}`: `view` holds the C-ordered
 * little-endian bytes. Inside a synced trait, ipywidgets hands `view` over as a
 * DataView; in a custom message the binary parts arrive as a separate list of
 * DataViews (or ArrayBuffers) that `unpack` puts back in place first.
 */

export const DTYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
} as const;

export type DType = keyof typeof DTYPES;

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

/** Binary data as any of the forms the widget manager or a caller may hand over. */
export type Binary = DataView | ArrayBuffer | ArrayBufferView;

export interface Payload {
  view: Binary;
  dtype: DType | string;
  shape: number[];
}

export interface Decoded<T extends TypedArray = TypedArray> {
  data: T;
  shape: number[];
}

function bytesOf(view: Binary): { buffer: ArrayBufferLike; offset: number; length: number } {
  if (view instanceof ArrayBuffer) {
    return { buffer: view, offset: 0, length: view.byteLength };
  }
  if (ArrayBuffer.isView(view)) {
    return { buffer: view.buffer, offset: view.byteOffset, length: view.byteLength };
  }
  throw new TypeError(
    `decode: view must be a DataView, ArrayBuffer or typed array, got ${Object.prototype.toString.call(view)}`,
  );
}

/** Whether `value` looks like a payload (`{view, dtype, shape}` with binary `view`). */
export function isPayload(value: unknown): value is Payload {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    "view" in v &&
    "dtype" in v &&
    Array.isArray(v.shape) &&
    (v.view instanceof ArrayBuffer || ArrayBuffer.isView(v.view))
  );
}

/**
 * Decode a payload to a typed array of its dtype and its shape.
 *
 * The result shares memory with the message when the bytes are aligned for the
 * dtype, and is a copy otherwise.
 */
export function decode<T extends TypedArray = TypedArray>(payload: Payload): Decoded<T> {
  const ctor = DTYPES[payload.dtype as DType];
  if (ctor === undefined) {
    throw new TypeError(
      `decode: unknown dtype ${JSON.stringify(payload.dtype)}; valid dtypes are ${Object.keys(DTYPES).join(", ")}`,
    );
  }
  const shape = Array.from(payload.shape, Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const { buffer, offset, length } = bytesOf(payload.view);
  const needed = count * ctor.BYTES_PER_ELEMENT;
  if (length !== needed) {
    throw new RangeError(
      `decode: a ${payload.dtype} payload of shape [${shape.join(", ")}] needs ${needed} bytes, got ${length}`,
    );
  }
  let data: TypedArray;
  if (offset % ctor.BYTES_PER_ELEMENT === 0) {
    data = new ctor(buffer as ArrayBuffer, offset, count);
  } else {
    const copy = new Uint8Array(length);
    copy.set(new Uint8Array(buffer as ArrayBuffer, offset, length));
    data = new ctor(copy.buffer, 0, count);
  }
  return { data: data as T, shape };
}

/** Encode a typed array as a payload, e.g. to send it to the kernel. */
export function encode(data: TypedArray, shape: number[] = [data.length]): Payload {
  const name = (Object.keys(DTYPES) as DType[]).find((k) => data instanceof DTYPES[k]);
  if (name === undefined) {
    throw new TypeError(`encode: unsupported array type; valid dtypes are ${Object.keys(DTYPES).join(", ")}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(`encode: shape [${shape.join(", ")}] holds ${count} values, the array has ${data.length}`);
  }
  return { view: new DataView(data.buffer, data.byteOffset, data.byteLength), dtype: name, shape };
}

export type BufferPath = (string | number)[];

/**
 * Split binary parts out of content (as ipywidgets does with state): returns the
 * content without them, their paths and the buffers. The input is not modified.
 */
export function pack(content: unknown): { content: unknown; bufferPaths: BufferPath[]; buffers: DataView[] } {
  const bufferPaths: BufferPath[] = [];
  const buffers: DataView[] = [];
  const REMOVED = Symbol("removed");
  const walk = (value: unknown, path: BufferPath): unknown => {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      const { buffer, offset, length } = bytesOf(value as Binary);
      bufferPaths.push(path);
      buffers.push(new DataView(buffer as ArrayBuffer, offset, length));
      return REMOVED;
    }
    if (Array.isArray(value)) {
      return value.map((item, i) => {
        const out = walk(item, [...path, i]);
        return out === REMOVED ? null : out;
      });
    }
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const v = walk(item, [...path, key]);
        if (v !== REMOVED) out[key] = v;
      }
      return out;
    }
    return value;
  };
  const stripped = walk(content, []);
  if (stripped === REMOVED) {
    throw new TypeError("pack: the content itself is binary; wrap it in an object, e.g. {data: ...}");
  }
  return { content: stripped, bufferPaths, buffers };
}

/**
 * Put `buffers` back at `bufferPaths` in `content` (modified in place and returned).
 * Payloads that result still need `decode`.
 */
export function unpack<T = unknown>(content: unknown, bufferPaths: BufferPath[] = [], buffers: Binary[] = []): T {
  if (bufferPaths.length !== buffers.length) {
    throw new RangeError(`unpack: ${bufferPaths.length} buffer paths but ${buffers.length} buffers were received`);
  }
  bufferPaths.forEach((path, i) => {
    if (path.length === 0) throw new RangeError("unpack: an empty buffer path");
    let obj = content as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) obj = obj[key] as Record<string | number, unknown>;
    const b = buffers[i];
    obj[path[path.length - 1]] = b instanceof DataView ? b : (() => {
      const { buffer, offset, length } = bytesOf(b);
      return new DataView(buffer as ArrayBuffer, offset, length);
    })();
  });
  return content as T;
}
