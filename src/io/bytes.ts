// Bytes from wherever a user has them: a file path (Node's file system, a browser's OPFS), a URL, a Blob or File,
// a fetch Response, or bytes already in memory. Sizes are checked before anything large is allocated.

import { platform } from '../platform/platform.js';

/** Where io functions take their bytes from. */
export type ByteSource = string | URL | Blob | Response | ArrayBuffer | ArrayBufferView;

/** Options of readBytes. */
export interface ReadBytesOptions {
  /** Refuse (before reading) anything larger (default: no limit beyond the platform's). */
  maxBytes?: number;
  /** What is being read, for error messages (e.g. 'loadModel'). */
  what?: string;
}

const URL_SCHEME = /^(https?|blob|data|file):/i;

/** A name for `source` in error messages. */
export function sourceLabel(source: ByteSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (typeof Response !== 'undefined' && source instanceof Response) return source.url || '<response>';
  if (typeof File !== 'undefined' && source instanceof File) return source.name;
  if (typeof Blob !== 'undefined' && source instanceof Blob) return '<blob>';
  return '<bytes>';
}

function tooLarge(label: string, size: number, max: number, what: string): Error {
  return new Error(`Graft ${what}: ${label} is ${size} bytes, over the ${max}-byte limit`);
}

async function fromResponse(res: Response, label: string, max: number, what: string): Promise<Uint8Array> {
  if (!res.ok) throw new Error(`Graft ${what}: ${label}: HTTP ${res.status} ${res.statusText}`.trimEnd());
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) throw tooLarge(label, declared, max, what);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.byteLength > max) throw tooLarge(label, bytes.byteLength, max, what);
  return bytes;
}

/**
 * Reads `source` whole. A string is a path in the platform's file store unless it starts with a URL scheme
 * (http:, https:, blob:, data:), which is fetched; a URL object is fetched.
 */
export async function readBytes(source: ByteSource, options: ReadBytesOptions = {}): Promise<Uint8Array> {
  const max = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
  const what = options.what ?? 'readBytes';
  const label = sourceLabel(source);
  if (source instanceof Uint8Array) return source;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof source === 'string' && !URL_SCHEME.test(source)) {
    try {
      return await platform().files.readFile(source, max);
    } catch (e) {
      throw new Error(`Graft ${what}: ${(e as Error).message}`);
    }
  }
  if (typeof source === 'string' || source instanceof URL) {
    let res: Response;
    try {
      res = await fetch(source);
    } catch (e) {
      throw new Error(`Graft ${what}: cannot fetch ${label} (${(e as Error).message})`);
    }
    return fromResponse(res, label, max, what);
  }
  if (typeof Response !== 'undefined' && source instanceof Response) return fromResponse(source, label, max, what);
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    if (source.size > max) throw tooLarge(label, source.size, max, what);
    return new Uint8Array(await source.arrayBuffer());
  }
  throw new Error(`Graft ${what}: cannot read from ${Object.prototype.toString.call(source)} (expected a path, URL, Blob, Response or bytes)`);
}
