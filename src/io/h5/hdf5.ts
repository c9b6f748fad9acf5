// HDF5 bytes through h5wasm (the HDF5 C library in WebAssembly): the bytes go into h5wasm's in-memory file system,
// never a host path, so the same code runs in Node and in a browser. Untrusted files are checked before allocating.

import type { Dataset, File as H5File, Group } from 'h5wasm';

/** The 8-byte signature at the start of an HDF5 file (superblock at offset 0, as h5py and Keras write it). */
export const HDF5_SIGNATURE = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);
/** NOTE: h5wasm copies the file into 32-bit WebAssembly memory; 1 GiB leaves room for the copy and the values read. */
export const MAX_HDF5_BYTES = 2 ** 30;

/** An HDF5 file that cannot be read, with the file's label in the message. */
export class Hdf5Error extends Error {
  constructor(readonly file: string, problem: string) {
    super(`Graft HDF5 ${file}: ${problem}`);
    this.name = 'Hdf5Error';
  }
}

/** Whether `bytes` start with the HDF5 signature. */
export function isHdf5(bytes: Uint8Array): boolean {
  return bytes.length >= HDF5_SIGNATURE.length && HDF5_SIGNATURE.every((b, i) => bytes[i] === b);
}

type H5 = typeof import('h5wasm');
let h5: Promise<H5> | null = null;

/** h5wasm, loaded (and its WebAssembly compiled) on first use. */
function loadH5wasm(): Promise<H5> {
  h5 ??= import('h5wasm').then(async (m) => {
    // NOTE: HDF5 errors become JS exceptions instead of HDF5-DIAG text on the console and a silent bad result.
    (await m.ready).activate_throwing_error_handler();
    return m;
  });
  return h5;
}

let opened = 0;

/** The first line of what HDF5 threw (its messages are multi-line stacks). */
const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0]!.trim() || 'unreadable';

/**
 * Opens `bytes` read-only, runs `fn` on the root group and closes the file (also when `fn` throws). `label` names
 * the file in errors. The size and signature are checked before h5wasm sees the bytes.
 */
export async function withHdf5<T>(bytes: Uint8Array, label: string, fn: (root: H5File) => T): Promise<T> {
  if (bytes.length > MAX_HDF5_BYTES) throw new Hdf5Error(label, `is ${bytes.length} bytes, over the ${MAX_HDF5_BYTES}-byte limit`);
  if (!isHdf5(bytes)) throw new Hdf5Error(label, 'is not an HDF5 file (no \\x89HDF\\r\\n\\x1a\\n signature at byte 0)');
  const m = await loadH5wasm();
  const fs = m.FS;
  if (!fs) throw new Hdf5Error(label, 'h5wasm has no in-memory file system');
  // NOTE: a unique in-memory name per open, so concurrent loads never see each other's bytes.
  const name = `/graft-${opened++}.h5`;
  fs.writeFile(name, bytes);
  let file: H5File | null = null;
  try {
    try {
      file = new m.File(name, 'r');
    } catch (e) {
      throw new Hdf5Error(label, `cannot be opened by HDF5 (${firstLine(e)})`);
    }
    return fn(file);
  } catch (e) {
    // NOTE: Graft's own errors (a mismatch, a bad dataset) pass; what HDF5 throws on a corrupt file gets the label.
    if (e instanceof Error && e.message.startsWith('Graft')) throw e;
    throw new Hdf5Error(label, `is corrupt or truncated (${firstLine(e)})`);
  } finally {
    file?.close();
    fs.unlink(name);
  }
}

/** The child group `name` of `g`, or null when absent or not a group. */
export function childGroup(g: Group, name: string): Group | null {
  const e = g.keys().includes(name) ? g.get(name) : null;
  return e && 'type' in e && e.type === 'Group' ? (e as Group) : null;
}

/** The dataset at `path` below `g`, or null when absent or not a dataset. */
export function datasetAt(g: Group, path: string): Dataset | null {
  let e: ReturnType<Group['get']>;
  try {
    e = g.get(path);
  } catch {
    return null;
  }
  return e && 'type' in e && e.type === 'Dataset' ? (e as Dataset) : null;
}

/** A string-list attribute (Keras writes `layer_names` and `weight_names` as fixed-length byte strings). */
export function stringListAttribute(g: Group, name: string, label: string): string[] | null {
  const a = g.attrs[name];
  if (!a) return null;
  const v = a.value;
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null;
  if (!list || !list.every((s): s is string => typeof s === 'string')) {
    throw new Hdf5Error(label, `attribute '${name}' of '${g.path}' is not a list of strings`);
  }
  return list;
}

/** A string attribute, or null. */
export function stringAttribute(g: Group, name: string): string | null {
  const v = g.attrs[name]?.value;
  return typeof v === 'string' ? v : null;
}

/** Element type and shape of a dataset, read from its header only. */
export interface DatasetInfo {
  shape: number[];
  /** 'float' or 'int' with the byte size; anything else is rejected. */
  kind: 'float' | 'int';
  itemBytes: number;
}

const H5T_INTEGER = 0;
const H5T_FLOAT = 1;

/** Shape and element type of `d`, checked so that reading it allocates at most `maxBytes`. */
export function datasetInfo(d: Dataset, label: string, maxBytes: number): DatasetInfo {
  const m = d.metadata;
  const shape = m.shape ?? [];
  if (m.virtual_sources && m.virtual_sources.length > 0) throw new Hdf5Error(label, `dataset '${d.path}' is virtual (it points into other files)`);
  let kind: DatasetInfo['kind'];
  if (m.type === H5T_FLOAT && (m.size === 4 || m.size === 8)) kind = 'float';
  else if (m.type === H5T_INTEGER && [1, 2, 4, 8].includes(m.size)) kind = 'int';
  else throw new Hdf5Error(label, `dataset '${d.path}' has element type ${m.type} of ${m.size} bytes; weights must be float32, float64 or integers`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((n) => Number.isSafeInteger(n) && n >= 0) || count !== m.total_size) {
    throw new Hdf5Error(label, `dataset '${d.path}' has an inconsistent shape [${shape.join(',')}]`);
  }
  if (count * m.size > maxBytes) {
    throw new Hdf5Error(label, `dataset '${d.path}' declares ${count * m.size} bytes of values, more than the file's ${maxBytes} bytes`);
  }
  return { shape, kind, itemBytes: m.size };
}

/** The values of `d` as float32 (float64 and integers converted); call datasetInfo first. */
export function readFloat32(d: Dataset, label: string): Float32Array {
  const v = d.value;
  if (v instanceof Float32Array) return v;
  if (v instanceof Float64Array || v instanceof Int8Array || v instanceof Uint8Array || v instanceof Int16Array
    || v instanceof Uint16Array || v instanceof Int32Array || v instanceof Uint32Array) return Float32Array.from(v);
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) return Float32Array.from(v, (x) => Number(x));
  if (typeof v === 'number') return Float32Array.of(v);
  if (typeof v === 'bigint') return Float32Array.of(Number(v));
  throw new Hdf5Error(label, `dataset '${d.path}' did not read as numbers`);
}
