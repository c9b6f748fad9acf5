// NumPy .npy files (format versions 1.0, 2.0 and 3.0): little-endian float32/float64/int64/int32/uint8/bool
// arrays in C order. Reading checks every header field and that the data holds exactly the elements the shape
// claims, so a bad or hostile file is a clear error, never a huge allocation.

import { platform } from '../platform/platform.js';

/** Element types read and written. */
export type NpyDType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

/** Typed array of each element type (int64 as BigInt64Array, bool as 0/1 bytes). */
export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** An array read from or written to a .npy file. */
export interface NpyArray {
  /** Element type. */
  dtype: NpyDType;
  /** Shape; [] for a scalar. */
  shape: number[];
  /** Row-major (C order) values. */
  data: NpyData;
}

/** A malformed or unsupported .npy file. */
export class NpyError extends Error {
  constructor(file: string, problem: string) {
    super(`Graft npy ${file}: ${problem}`);
    this.name = 'NpyError';
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** Headers longer than this are refused (numpy itself writes a few hundred bytes at most). */
const MAX_HEADER = 1 << 16;
const DESCR: Record<string, { dtype: NpyDType; size: number }> = {
  '<f4': { dtype: 'float32', size: 4 }, '<f8': { dtype: 'float64', size: 8 }, '<i8': { dtype: 'int64', size: 8 },
  '<i4': { dtype: 'int32', size: 4 }, '|u1': { dtype: 'uint8', size: 1 }, '<u1': { dtype: 'uint8', size: 1 },
  '|b1': { dtype: 'bool', size: 1 },
};
const DESCR_OF: Record<NpyDType, string> = { float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', bool: '|b1' };

/** Decodes .npy bytes; `file` names the source in errors. */
export function parseNpy(bytes: Uint8Array, file = '<bytes>'): NpyArray {
  const fail = (problem: string): never => {
    throw new NpyError(file, problem);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail(`is not a .npy file (no \\x93NUMPY magic; ${bytes.length} bytes)`);
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`has format version ${major}.${bytes[7]}; versions 1.0 to 3.0 are supported`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) fail('is truncated inside its header');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (headerLen > MAX_HEADER) fail(`declares a ${headerLen}-byte header (over ${MAX_HEADER})`);
  if (start + headerLen > bytes.length) fail(`is truncated: the header claims ${headerLen} bytes, the file has ${bytes.length - start} after the preamble`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1] ?? fail(`header has no 'descr': ${header.trim()}`);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] ?? fail(`header has no 'fortran_order': ${header.trim()}`);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail(`header has no 'shape' tuple: ${header.trim()}`);
  const kind = DESCR[descr] ?? fail(`has dtype '${descr}'; supported: ${Object.keys(DESCR).join(', ')} (little-endian)`);
  if (fortran === 'True') fail('is in Fortran order; save it with np.ascontiguousarray first');
  const parts = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const shape = parts.map((s) => (/^\d+L?$/.test(s) ? Number.parseInt(s, 10) : fail(`has a bad shape entry '${s}' in (${shapeText})`)));
  const dataBytes = bytes.length - start - headerLen;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (!Number.isSafeInteger(count) || count * kind.size > dataBytes) {
      fail(`shape (${shape.join(', ')}) claims more elements than the ${dataBytes} data bytes hold`);
    }
  }
  if (count * kind.size !== dataBytes) fail(`shape (${shape.join(', ')}) of ${descr} needs ${count * kind.size} data bytes, the file has ${dataBytes}`);
  // NOTE: copy into a fresh, aligned buffer (the data offset need not be a multiple of the element size, and a
  // Node Buffer's slice() would share the whole pool).
  const raw = new Uint8Array(bytes.subarray(start + headerLen));
  const data: NpyData = {
    float32: () => new Float32Array(raw.buffer, 0, count), float64: () => new Float64Array(raw.buffer, 0, count),
    int64: () => new BigInt64Array(raw.buffer, 0, count), int32: () => new Int32Array(raw.buffer, 0, count),
    uint8: () => raw, bool: () => raw,
  }[kind.dtype]();
  return { dtype: kind.dtype, shape, data };
}

/** Encodes an array as .npy bytes (version 1.0 header, or 2.0 when the header needs it). */
export function encodeNpy(a: NpyArray): Uint8Array {
  const count = a.shape.reduce((p, d) => p * d, 1);
  if (a.data.length !== count) throw new Error(`Graft npy: ${a.data.length} values for shape [${a.shape.join(',')}]`);
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  const dict = `{'descr': '${DESCR_OF[a.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const v1 = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10 <= 0xffff;
  const pre = v1 ? 10 : 12;
  // NOTE: numpy pads the header with spaces so that the data starts at a multiple of 64 bytes.
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const body = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const out = new Uint8Array(total + body.length);
  out.set(MAGIC);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, total - pre, true);
  else view.setUint32(8, total - pre, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(body, total);
  return out;
}

/** Writes an array to a .npy file (atomically; OPFS in a browser). */
export function writeNpy(path: string, a: NpyArray): Promise<void> {
  return platform().files.writeFileAtomic(path, encodeNpy(a));
}

/** The array as float32 values (int64 converted; values beyond 2^24 lose precision as in NumPy's astype). */
export function npyToFloat32(a: NpyArray): Float32Array {
  if (a.data instanceof Float32Array) return a.data;
  if (a.data instanceof BigInt64Array) return Float32Array.from(a.data, (v) => Number(v));
  return Float32Array.from(a.data as ArrayLike<number>);
}
