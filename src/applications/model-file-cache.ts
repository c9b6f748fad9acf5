// Pretrained files fetched once and kept: one small interface with a Node implementation (src/node/model-cache.ts,
// a folder under $GRAFT_HOME) and a browser one (src/browser/model-cache.ts, Cache Storage).

/** A file Graft knows how to fetch and verify. */
export interface ModelFile {
  /** File name: the name in the cache and the last part of its URL. */
  name: string;
  /** Where it is published when no base URL is set (Keras' own address). */
  url: string;
  /** Hex md5 of the complete file (Keras publishes md5 hashes). */
  md5: string;
  /** Size in bytes, when known: a shorter or longer download is rejected before hashing. */
  bytes?: number;
}

/** Where downloaded model files are kept. */
export interface ModelFileCache {
  /** The file's bytes: from the cache when there with the right md5, else downloaded, verified and stored first. */
  get(file: ModelFile): Promise<Uint8Array>;
  /** Where the file is or would be kept (a path, or a cache name and key), for messages. */
  locate(file: ModelFile): string;
}

/** The URL to fetch `file` from: `baseUrl` + its name when a base is given, else its published URL. */
export function modelFileUrl(file: ModelFile, baseUrl?: string): string {
  if (!baseUrl) return file.url;
  return baseUrl.endsWith('/') ? `${baseUrl}${file.name}` : `${baseUrl}/${file.name}`;
}

/** A model file that could not be fetched or verified; the message says how to place it by hand. */
export class ModelDownloadError extends Error {
  constructor(
    /** The URL tried. */
    readonly url: string,
    /** Where the file belongs. */
    readonly cachePath: string,
    problem: string,
  ) {
    super(`Graft: cannot get ${url}: ${problem}. Nothing was stored. To install it by hand, download ${url} on a machine that can reach it and put it at ${cachePath} (the md5 is checked when it is used).`);
    this.name = 'ModelDownloadError';
  }
}

/** Accumulates a download's chunks, rejecting more than `limit` bytes, and reports progress. */
export async function readBody(
  body: ReadableStream<Uint8Array>, limit: number, expected: number | null, onProgress: (done: number, total: number | null) => void,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let done = 0;
  const reader = body.getReader();
  for (;;) {
    const { done: end, value: chunk } = await reader.read();
    if (end) break;
    done += chunk.byteLength;
    if (done > limit) {
      await reader.cancel();
      throw new Error(`the response is longer than the expected ${limit} bytes`);
    }
    chunks.push(chunk);
    onProgress(done, expected);
  }
  const out = new Uint8Array(done);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** The size a download must have: the file's known size, else the response's Content-Length, else null. */
export function expectedSize(file: ModelFile, contentLength: string | null): number | null {
  if (file.bytes !== undefined) return file.bytes;
  const n = contentLength === null ? NaN : Number(contentLength);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

type CacheFactory = () => ModelFileCache;
let registered: CacheFactory | null = null;

/** Sets what `defaultModelFileCache` returns; the platform entry installs its own (src/index.ts: Node's folder cache). */
export function setDefaultModelFileCache(factory: CacheFactory | null): void {
  registered = factory;
}

/** A new cache from the installed factory (so that it reads its settings, e.g. $GRAFT_HOME, when asked). */
export function defaultModelFileCache(): ModelFileCache {
  if (!registered) throw new Error('Graft: no model file cache is installed on this platform; pass options.cache (e.g. browserModelFileCache())');
  return registered();
}
