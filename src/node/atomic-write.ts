// Atomic file replacement: write a temp file in the same folder, fsync it, rename it over the target. Also the
// seam that tests use to make a disk fail (e.g. fill up) in the middle of a write.

import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Fault-injection hooks, for tests that simulate a crash mid-save. */
export interface AtomicWriteOptions {
  /** Runs after the temp file is written and synced, before the rename; throwing aborts the save. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/** Called before each chunk a Graft writer puts on disk (`path` is the file written, e.g. a temp file); throwing fails that write. */
export type WriteFaultHook = (path: string, offset: number, length: number) => void;

let writeFault: WriteFaultHook | null = null;

/** Installs a write-fault hook (null removes it): the test seam for a disk that fills up or fails mid-write. */
export function setWriteFault(hook: WriteFaultHook | null): void {
  writeFault = hook;
}

/** Runs the installed write-fault hook, if any; writers call it before each chunk. */
export function checkWriteFault(path: string, offset: number, length: number): void {
  writeFault?.(path, offset, length);
}

/** A "no space left on device" error as Node's fs reports it (code ENOSPC). */
export function diskFullError(syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall} '${path}'`), { code: 'ENOSPC', errno: -28, syscall, path });
}

/** An fs error (one with a code) as a sentence naming `path`; 'disk full' for ENOSPC and EDQUOT. */
export function describeWriteError(e: unknown, path: string): string | null {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return null;
  const what = code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : code === 'EDQUOT' ? 'the disk quota is exceeded (EDQUOT, disk full)' : `${code}: ${(e as Error).message}`;
  return `writing ${path} failed: ${what}`;
}

/** Bytes per write call: a failing disk then fails mid-file, as a real one does. */
const CHUNK = 1 << 20;

let counter = 0;
let midWriteHook: ((path: string) => void | Promise<void>) | null = null;

/**
 * Test-only fault injection: `hook(path)` runs when half of every temp file is written, before the rest (a kill
 * there must leave the old file intact). Pass null to remove it.
 */
export function setMidWriteHook(hook: ((path: string) => void | Promise<void>) | null): void {
  midWriteHook = hook;
}

/**
 * Writes `bytes` to `path` so that readers see either the old file or the complete new one, never a partial file:
 * a crash or error before the rename leaves the old file untouched (and the temp file is removed on errors).
 * File-system errors (disk full, permissions) come back as one Error naming `path` and saying the old file is kept.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.${counter++}.tmp`);
  try {
    const fh = await open(temp, 'wx');
    try {
      const hook = midWriteHook;
      const half = hook ? bytes.byteLength >> 1 : -1;
      let off = 0;
      while (off < bytes.byteLength) {
        if (off === half) await hook!(path);
        // NOTE: a chunk ends at the half-way point when the mid-write hook is set, so the hook sees half a file.
        const n = Math.min(CHUNK, bytes.byteLength - off, off < half ? half - off : Infinity);
        checkWriteFault(temp, off, n);
        const { bytesWritten } = await fh.write(bytes, off, n);
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
    const problem = describeWriteError(e, path);
    if (problem === null) throw e;
    throw new Error(`Graft: ${problem}; any earlier ${basename(path)} is unchanged and no temp file is left`, { cause: e });
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
