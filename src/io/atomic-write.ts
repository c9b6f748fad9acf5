// Atomic file replacement: write a temp file in the same folder, fsync it, rename it over the target.

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Fault-injection hooks, for tests that simulate a crash mid-save. */
export interface AtomicWriteOptions {
  /** Runs after the temp file is written and synced, before the rename; throwing aborts the save. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

let counter = 0;
let midWriteHook: ((path: string) => void | Promise<void>) | null = null;

/**
 * Test-only fault injection: `hook(path)` runs when half of every temp file is written, before the rest (a kill
 * there must leave the old file intact). Pass null to remove it.
 */
export function setMidWriteHook(hook: ((path: string) => void | Promise<void>) | null): void {
  midWriteHook = hook;
}

async function writeRange(fh: FileHandle, bytes: Uint8Array, from: number, to: number): Promise<void> {
  let off = from;
  while (off < to) {
    const { bytesWritten } = await fh.write(bytes, off, to - off);
    off += bytesWritten;
  }
}

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
      const hook = midWriteHook;
      const half = hook ? bytes.byteLength >> 1 : bytes.byteLength;
      await writeRange(fh, bytes, 0, half);
      if (hook) await hook(path);
      await writeRange(fh, bytes, half, bytes.byteLength);
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
