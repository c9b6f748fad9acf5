// Model files cached in the browser's Cache Storage (keyed by URL), fetched once, md5-checked in JS (WebCrypto has
// no md5) and stored only when complete, so that no partial file is ever kept.

import { MAX_HDF5_BYTES } from '../io/h5/hdf5.js';
import { md5Hex } from '../io/md5.js';
import {
  expectedSize, modelFileUrl, ModelDownloadError, readBody, type ModelFile, type ModelFileCache,
} from '../applications/model-file-cache.js';

/** Options of browserModelFileCache. */
export interface BrowserModelCacheOptions {
  /** Cache Storage name (default 'graft-models'). */
  cacheName?: string;
  /** Fetch `<baseUrl>/<name>` instead of the file's published URL (e.g. a copy on your own server). */
  baseUrl?: string;
  /** Called as bytes arrive (total null when the size is unknown). */
  onProgress?: (file: string, done: number, total: number | null) => void;
  /** The CacheStorage to use (default globalThis.caches). */
  caches?: CacheStorage;
}

/** The cache in Cache Storage; later calls (and later page loads) reuse what is there. */
export function browserModelFileCache(options: BrowserModelCacheOptions = {}): ModelFileCache {
  const cacheName = options.cacheName ?? 'graft-models';
  const storage = options.caches ?? (globalThis as { caches?: CacheStorage }).caches;
  const locate = (file: ModelFile) => `Cache Storage '${cacheName}', key ${modelFileUrl(file, options.baseUrl)}`;
  return {
    locate,
    async get(file) {
      if (!storage) throw new Error('Graft: this browser has no Cache Storage (it needs a secure context: https or localhost)');
      const url = modelFileUrl(file, options.baseUrl);
      const cache = await storage.open(cacheName);
      const hit = await cache.match(url);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        if (md5Hex(bytes) === file.md5) return bytes;
        // NOTE: as Keras' get_file: a cached copy with the wrong hash is fetched again.
        await cache.delete(url);
      }
      const fail = (problem: string): never => {
        throw new ModelDownloadError(url, locate(file), problem);
      };
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        return fail(`no connection (${(e as Error).message}: offline, or the host is unreachable)`);
      }
      if (!res.ok || !res.body) return fail(`the server answered HTTP ${res.status}`);
      const expected = expectedSize(file, res.headers.get('content-length'));
      let bytes: Uint8Array;
      try {
        bytes = await readBody(res.body, expected ?? MAX_HDF5_BYTES, expected, (done, total) => options.onProgress?.(file.name, done, total));
      } catch (e) {
        return fail(`the download broke off (${(e as Error).message})`);
      }
      if (expected !== null && bytes.length !== expected) fail(`the download is truncated: ${bytes.length} of ${expected} bytes`);
      const md5 = md5Hex(bytes);
      if (md5 !== file.md5) fail(`the downloaded file has md5 ${md5}, expected ${file.md5}`);
      await cache.put(url, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.length) } }));
      return bytes;
    },
  };
}
