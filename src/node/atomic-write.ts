// Atomic file replacement: write a temp file in the same folder, fsync it, rename it over the target.

import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Fault-injection hooks, for tests that simulate a crash mid-save. */
export interface AtomicWriteOptions {
  /** Runs after the temp file is written and synced, before the rename; throwing aborts the save. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

let counter = 0;

/**
 * Writes `bytes` to `path` so that readers see either the old file or the complete new one, never a partial file:
 * a crash or error before the rename leaves the old file untouched (and the temp file is removed on errors).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.${counter++}.tmp`);
  try {
    const fh = await open(temp, 'wx');
    try {
      let off = 0;
      while (off < bytes.byteLength) {
        const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
        off += bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await options.beforeRename?.(temp);
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}

/** Makes the rename itself durable; some platforms (Windows) cannot open folders, which is harmless to skip. */
async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // NOTE: best effort only: the data is already in place and complete.
  } finally {
    await fh?.close();
  }
}
