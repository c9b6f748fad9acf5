// Safetensors files: 8-byte little-endian header size, a JSON header, then the tensor bytes. Reads treat files as untrusted.

import type { Device } from '../gpu/device.js';
import { getDevice } from '../tensor/engine.js';
import { Tensor } from '../tensor/tensor.js';
import { platform } from '../platform/platform.js';
import { readBytes, sourceLabel, type ByteSource } from './bytes.js';

/** The element types Graft reads and writes. */
export type SafetensorsDType = 'F32' | 'I32' | 'I64' | 'F16';

/** A tensor's values as stored: F16 holds raw half-precision bits. */
export type SafetensorsData = Float32Array | Int32Array | BigInt64Array | Uint16Array;

/** One tensor to write. */
export interface SafetensorsEntry {
  name: string;
  shape: readonly number[];
  dtype: SafetensorsDType;
  /** Little-endian element bytes: a typed array of the dtype (F16: Uint16Array of bits), byteLength = size * itemsize. */
  data: ArrayBufferView;
}

/** One tensor read back. */
export interface LoadedTensor {
  shape: number[];
  dtype: SafetensorsDType;
  data: SafetensorsData;
}

/** A decoded file. */
export interface SafetensorsFile {
  tensors: Map<string, LoadedTensor>;
  /** The header's `__metadata__` (string values only), empty when absent. */
  metadata: Record<string, string>;
}

const ITEM_SIZE: Record<SafetensorsDType, number> = { F32: 4, I32: 4, I64: 8, F16: 2 };
/** NOTE: the reference implementation's limit; a larger header is certainly not a tensor index. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A malformed, unsupported or inconsistent safetensors file (or entry to write); the message names the file. */
export class SafetensorsError extends Error {
  constructor(label: string, problem: string) {
    super(`Graft safetensors: ${label}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

function fail(label: string, problem: string): never {
  throw new SafetensorsError(label, problem);
}

function isDType(d: unknown): d is SafetensorsDType {
  return typeof d === 'string' && d in ITEM_SIZE;
}

/** Encodes tensors and metadata into safetensors bytes (the header padded with spaces to 8 bytes). */
export function encodeSafetensors(entries: readonly SafetensorsEntry[], metadata: Record<string, string> = {}, label = 'safetensors'): Uint8Array {
  if (!littleEndian) fail(label, 'writing requires a little-endian host');
  const header: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') fail(label, `metadata value '${k}' must be a string, got ${typeof v}`);
  }
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.name === METADATA_KEY || e.name.length === 0) fail(label, `invalid tensor name '${e.name}'`);
    if (seen.has(e.name)) fail(label, `tensor name '${e.name}' appears twice`);
    seen.add(e.name);
    if (!isDType(e.dtype)) fail(label, `tensor '${e.name}' has unsupported dtype '${String(e.dtype)}' (F32, I32, I64, F16)`);
    if (!e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(label, `tensor '${e.name}' has invalid shape [${e.shape.join(',')}]`);
    const want = e.shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[e.dtype];
    if (e.data.byteLength !== want) {
      fail(label, `tensor '${e.name}' ${e.dtype} [${e.shape.join(',')}] needs ${want} bytes, data has ${e.data.byteLength}`);
    }
  }
  // NOTE: wider types first keeps every tensor aligned to its item size within the data section.
  const order = entries.map((e, i) => ({ e, i })).sort((a, b) => ITEM_SIZE[b.e.dtype] - ITEM_SIZE[a.e.dtype] || a.i - b.i);
  let offset = 0;
  for (const { e } of order) {
    const end = offset + e.data.byteLength;
    header[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const { e } of order) {
    out.set(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), pos);
    pos += e.data.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically (temp file + flush + rename; OPFS in a browser). */
export async function writeSafetensors(path: string, tensors: readonly SafetensorsEntry[], metadata: Record<string, string> = {}): Promise<void> {
  await platform().files.writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}

/** Validates the 8-byte prefix against the file size; returns the header length. */
function headerLength(prefix: Uint8Array, fileSize: number, label: string): number {
  if (fileSize < 8) fail(label, `file is ${fileSize} bytes, shorter than the 8-byte header size`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) fail(label, `header size ${n} exceeds the ${fileSize - 8} bytes after the size field (truncated or corrupt file)`);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(label, `header size ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2n) fail(label, `header size ${n} is too small for a JSON object`);
  return Number(n);
}

interface Slot {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(bytes: Uint8Array, label: string): { slots: Slot[]; metadata: Record<string, string> } {
  if (bytes[0] !== 0x7b) fail(label, 'header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    fail(label, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) fail(label, 'header is not a JSON object');
  const metadata: Record<string, string> = {};
  const slots: Slot[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!info || typeof info !== 'object' || Array.isArray(info)) fail(label, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') fail(label, `__metadata__ value '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (!info || typeof info !== 'object') fail(label, `entry '${name}' is not an object`);
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    if (!isDType(dtype)) fail(label, `tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)} (F32, I32, I64, F16)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(label, `tensor '${name}' has invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      fail(label, `tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const dims = shape as number[];
    const [begin, end] = offs as [number, number];
    const want = dims.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
    if (end - begin !== want) {
      fail(label, `tensor '${name}' ${dtype} [${dims.join(',')}] needs ${want} bytes but data_offsets [${begin},${end}] span ${end - begin}`);
    }
    slots.push({ name, dtype, shape: dims, begin, end });
  }
  return { slots, metadata };
}

/** Checks that the tensors tile the data section exactly: in bounds, no overlaps, no holes (as the spec requires). */
function checkLayout(slots: Slot[], dataBytes: number, label: string): void {
  const sorted = [...slots].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const s of sorted) {
    if (s.end > dataBytes) fail(label, `tensor '${s.name}' data_offsets [${s.begin},${s.end}] run past the ${dataBytes}-byte data section`);
    if (s.begin < pos) fail(label, `tensor '${s.name}' data_offsets [${s.begin},${s.end}] overlap the previous tensor (ending at ${pos})`);
    if (s.begin > pos) fail(label, `bytes ${pos}..${s.begin} of the data section belong to no tensor`);
    pos = s.end;
  }
  if (pos !== dataBytes) fail(label, `bytes ${pos}..${dataBytes} of the data section belong to no tensor`);
}

function view(dtype: SafetensorsDType, bytes: Uint8Array): SafetensorsData {
  // NOTE: slice() copies into a fresh, aligned buffer: the file's offsets need not be aligned.
  const b = bytes.slice().buffer;
  switch (dtype) {
    case 'F32':
      return new Float32Array(b);
    case 'I32':
      return new Int32Array(b);
    case 'I64':
      return new BigInt64Array(b);
    case 'F16':
      return new Uint16Array(b);
  }
}

/** Decodes safetensors bytes, validating everything; `label` (the file path) prefixes every error. */
export function decodeSafetensors(bytes: Uint8Array, label = 'safetensors'): SafetensorsFile {
  if (!littleEndian) fail(label, 'reading requires a little-endian host');
  const n = headerLength(bytes.subarray(0, 8), bytes.byteLength, label);
  const { slots, metadata } = parseHeader(bytes.subarray(8, 8 + n), label);
  const data = bytes.subarray(8 + n);
  checkLayout(slots, data.byteLength, label);
  const tensors = new Map<string, LoadedTensor>();
  for (const s of slots) tensors.set(s.name, { shape: s.shape, dtype: s.dtype, data: view(s.dtype, data.subarray(s.begin, s.end)) });
  return { tensors, metadata };
}

/** Reads and validates a safetensors file (a path, URL, Blob or bytes: see readBytes). */
export async function readSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const label = sourceLabel(source);
  return decodeSafetensors(await readBytes(source, { what: 'safetensors' }), label);
}

/** Half-precision bits to a number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Reads GPU tensors back and writes them as F32/I32 safetensors, atomically. */
export async function saveTensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const names = Object.keys(tensors);
  const datas = await Promise.all(names.map((n) => tensors[n]!.data()));
  const entries: SafetensorsEntry[] = names.map((name, i) => {
    const t = tensors[name]!;
    return { name, shape: t.shape, dtype: t.dtype === 'int32' ? 'I32' : 'F32', data: datas[i]! };
  });
  await writeSafetensors(path, entries, metadata);
}

/** Loads a safetensors file into new GPU tensors: F32/F16 become float32, I32/I64 int32 (I64 must fit). */
export async function loadTensors(path: ByteSource, device: Device = getDevice()): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  const file = await readSafetensors(path);
  const label = sourceLabel(path);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, t] of file.tensors) {
      let values: Float32Array | Int32Array;
      if (t.data instanceof BigInt64Array) {
        values = new Int32Array(t.data.length);
        for (let i = 0; i < t.data.length; i++) {
          const v = t.data[i]!;
          if (v > 2147483647n || v < -2147483648n) fail(label, `I64 tensor '${name}' holds ${v}, outside the int32 range`);
          values[i] = Number(v);
        }
      } else if (t.data instanceof Uint16Array) {
        values = Float32Array.from(t.data, halfToFloat);
      } else {
        values = t.data;
      }
      const out = new Tensor(device, t.shape, values instanceof Int32Array ? 'int32' : 'float32');
      out.name = name;
      tensors[name] = out;
      if (values.length > 0) device.write(out.buffer, values);
    }
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
  return { tensors, metadata: file.metadata };
}
