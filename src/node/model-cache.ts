// Model files cached on disk, as Keras' get_file keeps them: $GRAFT_HOME/models (default ~/.graft/models), fetched
// once with a progress bar on stderr, md5-checked, and written atomically so that no partial file is ever left.

import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { MAX_HDF5_BYTES } from '../io/h5/hdf5.js';
import {
  expectedSize, modelFileUrl, ModelDownloadError, readBody, type ModelFile, type ModelFileCache,
} from '../applications/model-file-cache.js';

const CONNECT_TIMEOUT_MS = 30_000;

/** Options of nodeModelFileCache. */
export interface NodeModelCacheOptions {
  /** The folder; default $GRAFT_HOME/models, or ~/.graft/models. */
  dir?: string;
  /** Fetch `<baseUrl>/<name>` instead of the file's published URL; default $GRAFT_WEIGHTS_BASE_URL. */
  baseUrl?: string;
  /** Show download progress on stderr (default true). */
  progress?: boolean;
}

/** The cache folder: $GRAFT_HOME/models, or ~/.graft/models. */
export function modelCacheDir(): string {
  return join(process.env.GRAFT_HOME || join(homedir(), '.graft'), 'models');
}

/** Hex md5 of `bytes`. */
function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** A bar redrawn in place on a terminal, or a line every 10% elsewhere (logs, CI). */
function progressPrinter(name: string, enabled: boolean): (done: number, total: number | null) => void {
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (done, total) => {
    if (!enabled) return;
    const frac = total ? Math.min(1, done / total) : 0;
    if (tty) {
      const bar = total ? '#'.repeat(Math.round(frac * 30)).padEnd(30, '.') : '';
      process.stderr.write(`\rDownloading ${name} [${bar}] ${total ? `${Math.floor(frac * 100)}% ` : ''}${mb(done)}${total ? `/${mb(total)}` : ''} MB`);
      if (total && done >= total) process.stderr.write('\n');
      return;
    }
    const tenth = Math.floor(frac * 10);
    if (total && tenth > lastTenth) {
      lastTenth = tenth;
      process.stderr.write(`Downloading ${name}: ${tenth * 10}% (${mb(done)}/${mb(total)} MB)\n`);
    }
  };
}

/** The cache in a folder on disk; later calls (and later processes) reuse what is there. */
export function nodeModelFileCache(options: NodeModelCacheOptions = {}): ModelFileCache {
  const dir = options.dir ?? modelCacheDir();
  const baseUrl = options.baseUrl ?? (process.env.GRAFT_WEIGHTS_BASE_URL || undefined);
  const locate = (file: ModelFile) => join(dir, file.name);
  return {
    locate,
    async get(file) {
      const path = locate(file);
      const cached = await readFile(path).catch(() => null);
      // NOTE: as Keras' get_file: a cached file with the wrong hash (outdated or incomplete) is fetched again.
      if (cached && md5Hex(cached) === file.md5) return new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength);
      const url = modelFileUrl(file, baseUrl);
      const fail = (problem: string): never => {
        throw new ModelDownloadError(url, path, problem);
      };
      let res: Response;
      // NOTE: a bound on the wait for the server's answer only; the transfer itself may take as long as it needs.
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), CONNECT_TIMEOUT_MS);
      try {
        res = await fetch(url, { signal: abort.signal });
      } catch (e) {
        if (abort.signal.aborted) return fail(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s (offline, or the host is unreachable)`);
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        return fail(`no connection (${cause?.code ?? cause?.message ?? (e as Error).message}: offline, or the host is unreachable)`);
      } finally {
        clearTimeout(timer);
      }
      if (!res.ok || !res.body) return fail(`the server answered HTTP ${res.status}`);
      const expected = expectedSize(file, res.headers.get('content-length'));
      let bytes: Uint8Array;
      try {
        bytes = await readBody(res.body, expected ?? MAX_HDF5_BYTES, expected, progressPrinter(file.name, options.progress ?? true));
      } catch (e) {
        return fail(`the download broke off (${(e as { cause?: Error }).cause?.message ?? (e as Error).message})`);
      }
      if (expected !== null && bytes.length !== expected) fail(`the download is truncated: ${bytes.length} of ${expected} bytes`);
      const md5 = md5Hex(bytes);
      if (md5 !== file.md5) fail(`the downloaded file has md5 ${md5}, expected ${file.md5}`);
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(path, bytes);
      return bytes;
    },
  };
}
