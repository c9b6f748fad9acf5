// The FileStore of browsers: the origin-private file system (OPFS). Saves go through createWritable(), whose
// changes become visible only when the stream closes, so a tab closed mid-save leaves the previous file intact.

import type { FileStore } from '../platform/platform.js';

/** Path parts of an OPFS path ('a/b.txt', '/a/b.txt' and './a/b.txt' are the same file). */
function parts(path: string): string[] {
  const out: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (out.length === 0) throw new Error(`${path}: leads outside the origin-private file system`);
      out.pop();
    } else out.push(p);
  }
  return out;
}

async function folder(names: string[], create: boolean): Promise<FileSystemDirectoryHandle> {
  let dir = await navigator.storage.getDirectory();
  for (const n of names) dir = await dir.getDirectoryHandle(n, { create });
  return dir;
}

async function fileHandle(path: string, create: boolean): Promise<FileSystemFileHandle> {
  const p = parts(path);
  const name = p.pop();
  if (!name) throw new Error(`${path}: not a file path`);
  return (await folder(p, create)).getFileHandle(name, { create });
}

const notFound = (e: unknown) => e instanceof DOMException && (e.name === 'NotFoundError' || e.name === 'TypeMismatchError');

/** Rewrites a quota error so that it names the file and says that nothing was replaced. */
function quota(path: string, e: unknown): unknown {
  if (e instanceof DOMException && e.name === 'QuotaExceededError') {
    return new Error(`${path}: the browser's storage quota is full; the previous file (if any) is unchanged (free space or download the model instead)`);
  }
  return e;
}

async function write(path: string, bytes: Uint8Array, append: boolean): Promise<void> {
  try {
    const handle = await fileHandle(path, true);
    const stream = await handle.createWritable({ keepExistingData: append });
    try {
      if (append) await stream.seek((await handle.getFile()).size);
      await stream.write(bytes as Uint8Array<ArrayBuffer>);
      await stream.close();
    } catch (e) {
      await stream.abort().catch(() => undefined);
      throw e;
    }
  } catch (e) {
    throw quota(path, e);
  }
}

/** OPFS as a FileStore. */
export const opfsFiles: FileStore = {
  async readFile(path, maxBytes = Number.MAX_SAFE_INTEGER) {
    let file: File;
    try {
      file = await (await fileHandle(path, false)).getFile();
    } catch (e) {
      if (notFound(e)) throw new Error(`${path}: no such file in the origin-private file system`);
      throw e;
    }
    if (file.size > maxBytes) throw new Error(`${path}: ${file.size} bytes, over the ${maxBytes}-byte limit for this kind of file`);
    return new Uint8Array(await file.arrayBuffer());
  },
  writeFileAtomic: (path, bytes) => write(path, bytes, false),
  appendFile: (path, bytes) => write(path, bytes, true),
  async fileSize(path) {
    try {
      return (await (await fileHandle(path, false)).getFile()).size;
    } catch (e) {
      if (notFound(e)) return null;
      throw e;
    }
  },
  async isDirectory(path) {
    try {
      await folder(parts(path), false);
      return true;
    } catch (e) {
      if (notFound(e)) return false;
      throw e;
    }
  },
  async list(path) {
    const dir = await folder(parts(path), false);
    const out: { name: string; directory: boolean }[] = [];
    for await (const [name, handle] of (dir as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
      out.push({ name, directory: handle.kind === 'directory' });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },
  async mkdir(path) {
    await folder(parts(path), true);
  },
  async remove(path) {
    const p = parts(path);
    const name = p.pop();
    if (!name) return;
    try {
      await (await folder(p, false)).removeEntry(name);
    } catch (e) {
      if (!notFound(e)) throw e;
    }
  },
  resolve: (path) => `/${parts(path).join('/')}`,
};
