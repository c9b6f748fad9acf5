// The FileStore of Node: the file system, with atomic replacement for everything Graft saves.

import { mkdir, open, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { FileStore } from '../platform/platform.js';
import { checkWriteFault, describeWriteError, writeFileAtomic } from './atomic-write.js';

async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

/** Reads a whole file, checking its size first (`maxBytes`) so that a huge file is refused before allocating. */
async function readFile(path: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot be opened (${(e as Error).message})`);
  }
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw new Error(`${path}: not a regular file`);
    if (info.size > maxBytes) throw new Error(`${path}: ${info.size} bytes, over the ${maxBytes}-byte limit for this kind of file`);
    const bytes = new Uint8Array(info.size);
    let off = 0;
    while (off < info.size) {
      const { bytesRead } = await fh.read(bytes, off, info.size - off, off);
      if (bytesRead === 0) throw new Error(`${path}: file shrank while reading (got ${off} of ${info.size} bytes)`);
      off += bytesRead;
    }
    return bytes;
  } finally {
    await fh.close();
  }
}

/** Bytes per write call: a failing disk then fails mid-file, as a real one does. */
const CHUNK = 1 << 20;

/** Appends all of `bytes` or nothing: on a failed write the file is cut back to its previous length. */
async function appendFile(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, 'a');
  const start = (await fh.stat()).size;
  try {
    let off = 0;
    while (off < bytes.byteLength) {
      const n = Math.min(CHUNK, bytes.byteLength - off);
      checkWriteFault(path, start + off, n);
      off += (await fh.write(bytes, off, n)).bytesWritten;
    }
    await fh.sync();
  } catch (e) {
    // NOTE: a partly written record would make every later record unreadable; drop the partial bytes.
    await fh.truncate(start).catch(() => undefined);
    throw new Error(describeWriteError(e, path) ?? `writing ${path} failed: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}

/** Node's file system as a FileStore. */
export const nodeFiles: FileStore = {
  readFile,
  async writeFileAtomic(path, bytes) {
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, bytes);
  },
  appendFile,
  fileSize,
  async isDirectory(path) {
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  },
  async list(path) {
    const entries = await readdir(path, { withFileTypes: true });
    const out = await Promise.all(
      entries.map(async (e) => ({
        name: e.name,
        directory: e.isDirectory() || (e.isSymbolicLink() && (await stat(resolve(path, e.name)).then((s) => s.isDirectory(), () => false))),
        link: e.isSymbolicLink(),
      })),
    );
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  async remove(path) {
    await unlink(path).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code === 'EISDIR' || e.code === 'EPERM') await rmdir(path);
      else if (e.code !== 'ENOENT') throw e;
    });
  },
  resolve: (path) => resolve(path),
};
