// Decoding of TensorProto values (raw_data, typed fields or external data) into typed arrays, with every size
// checked against the bytes actually present before anything is allocated.

import { OnnxError } from './errors.js';
import type { OnnxDType, OnnxTensor, TensorValues } from './model.js';
import { dtypeByteSize, dtypeFromCode, int64ToNumber, onnx, type Int64Like, type ProtoTensor } from './proto.js';

/** Reads the bytes of tensors stored outside the model file (data_location = EXTERNAL). */
export interface ExternalDataSource {
  /**
   * Returns exactly `length` bytes at `offset` of the file `location` (relative to the model's folder).
   * Implementations reject locations outside the folder and ranges outside the file, naming `tensor`.
   */
  read(location: string, offset: number, length: number, tensor: string): Uint8Array;
}

/** What tensor decoding needs to know about its surroundings. */
export interface TensorContext {
  /** The model file, for error messages. */
  file: string;
  /** Source of external data, or null when the model was parsed from memory without one. */
  external: ExternalDataSource | null;
  /** The node holding the tensor (for Constant values and tensor attributes), if any. */
  node?: { name: string; opType: string };
}

/** Decodes one TensorProto; `fallbackName` names unnamed tensors (attributes) in errors. */
export function decodeTensor(t: ProtoTensor, ctx: TensorContext, fallbackName = ''): OnnxTensor {
  const name = t.name || fallbackName;
  const fail = (problem: string): never => {
    throw new OnnxError({ file: ctx.file, node: ctx.node, tensor: name }, problem);
  };
  const dtype = dtypeFromCode(t.dataType);
  if (dtype === null) fail(`has undefined or unknown data type code ${t.dataType ?? 0}`);
  const dt = dtype as OnnxDType;
  if (dt === 'string' || dt === 'complex64' || dt === 'complex128') fail(`${dt} tensors are not supported`);
  if (t.segment) fail('segmented tensors are not supported');

  const dims = (t.dims ?? []).map((d) => {
    const n = int64ToNumber(d as Int64Like);
    if (n === null || n < 0) fail(`has an invalid dimension ${String(d)} in dims`);
    return n as number;
  });
  let count = 1;
  for (const d of dims) {
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) fail(`dims [${dims.join(',')}] claim an impossible number of elements`);
  }
  const elemBytes = dtypeByteSize(dt) as number;
  const claim = `dims [${dims.join(',')}] claim ${count} elements (${count * elemBytes} bytes of ${dt})`;

  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const bytes = readExternal(t, ctx, name, count * elemBytes, claim, fail);
    return { name, dtype: dt, dims, values: decodeRaw(bytes, dt, count, fail) };
  }
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * elemBytes) fail(`${claim} but raw_data holds ${t.rawData.length} bytes`);
    return { name, dtype: dt, dims, values: decodeRaw(t.rawData, dt, count, fail) };
  }
  return { name, dtype: dt, dims, values: decodeTyped(t, dt, count, claim, fail) };
}

function readExternal(
  t: ProtoTensor, ctx: TensorContext, name: string, expected: number, claim: string, fail: (p: string) => never,
): Uint8Array {
  if (!ctx.external) fail('uses external data, which needs the model to be read from a file');
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) fail("uses external data without a 'location'");
  const parseField = (key: string): number | null => {
    const s = entries.get(key);
    if (s === undefined || s === '') return null;
    const n = Number(s);
    if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) fail(`has an invalid external data ${key} '${s}'`);
    return n;
  };
  const offset = parseField('offset') ?? 0;
  const length = parseField('length');
  if (length !== null && length !== expected) fail(`${claim} but its external data length is ${length} bytes`);
  return (ctx.external as ExternalDataSource).read(location as string, offset, expected, name);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function decodeRaw(bytes: Uint8Array, dt: OnnxDType, count: number, fail: (p: string) => never): TensorValues {
  // NOTE: copy into a fresh, aligned buffer; raw_data is a view into the file at an arbitrary offset (and a Node
  // Buffer, whose slice() would share memory rather than copy).
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const aligned = (): ArrayBuffer => {
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return copy.buffer;
  };
  switch (dt) {
    case 'float32':
      if (LITTLE_ENDIAN) return new Float32Array(aligned(), 0, count);
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
    case 'float64':
      if (LITTLE_ENDIAN) return new Float64Array(aligned(), 0, count);
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(i * 8, true));
    case 'int32': return Int32Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true));
    case 'int16': return Int32Array.from({ length: count }, (_, i) => view.getInt16(i * 2, true));
    case 'uint16': return Int32Array.from({ length: count }, (_, i) => view.getUint16(i * 2, true));
    case 'int8': return new Int8Array(aligned(), 0, count);
    case 'uint8': case 'bool': return new Uint8Array(aligned(), 0, count);
    case 'float16': return Float32Array.from({ length: count }, (_, i) => float16ToFloat32(view.getUint16(i * 2, true)));
    case 'bfloat16': return Float32Array.from({ length: count }, (_, i) => bfloat16ToFloat32(view.getUint16(i * 2, true)));
    case 'uint32': return Float64Array.from({ length: count }, (_, i) => view.getUint32(i * 4, true));
    case 'int64': case 'uint64': {
      const out = new Float64Array(count);
      const unsigned = dt === 'uint64';
      for (let i = 0; i < count; i++) {
        const low = view.getUint32(i * 8, true);
        const high = view.getInt32(i * 8 + 4, true);
        const n = int64ToNumber({ low, high, unsigned });
        if (n === null) fail(`${dt} element ${i} is outside the exactly representable range ±2^53`);
        out[i] = n as number;
      }
      return out;
    }
    default: return fail(`${dt} tensors are not supported`);
  }
}

function decodeTyped(
  t: ProtoTensor, dt: OnnxDType, count: number, claim: string, fail: (p: string) => never,
): TensorValues {
  const field = typedField(t, dt);
  if (field.values.length !== count) fail(`${claim} but ${field.name} holds ${field.values.length} values`);
  const src = field.values;
  switch (dt) {
    case 'float32': return Float32Array.from(src as number[]);
    case 'float64': return Float64Array.from(src as number[]);
    case 'float16': return Float32Array.from(src as number[], (b) => float16ToFloat32(b & 0xffff));
    case 'bfloat16': return Float32Array.from(src as number[], (b) => bfloat16ToFloat32(b & 0xffff));
    case 'int32': case 'int16': case 'uint16': return Int32Array.from(src as number[]);
    case 'int8': return Int8Array.from(src as number[]);
    case 'uint8': case 'bool': return Uint8Array.from(src as number[]);
    default: {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const n = int64ToNumber(src[i] as Int64Like);
        if (n === null) fail(`${dt} element ${i} is outside the exactly representable range ±2^53`);
        out[i] = n as number;
      }
      return out;
    }
  }
}

function typedField(t: ProtoTensor, dt: OnnxDType): { name: string; values: ArrayLike<unknown> } {
  switch (dt) {
    case 'float32': return { name: 'float_data', values: t.floatData ?? [] };
    case 'float64': return { name: 'double_data', values: t.doubleData ?? [] };
    case 'int64': return { name: 'int64_data', values: t.int64Data ?? [] };
    case 'uint32': case 'uint64': return { name: 'uint64_data', values: t.uint64Data ?? [] };
    default: return { name: 'int32_data', values: t.int32Data ?? [] };
  }
}

/** IEEE half-precision bits to a float32 value. */
export function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function bfloat16ToFloat32(bits: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setUint32(0, bits << 16);
  return buf.getFloat32(0);
}
