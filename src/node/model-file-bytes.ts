// Model files from disk as bytes for the platform-free readers in src/io, with the size checked before reading.

import { open, stat } from 'node:fs/promises';

/** The bytes of the file at `path`; throws, naming the file, when it is missing or larger than `maxBytes`. */
export async function readModelFileBytes(path: string, maxBytes: number): Promise<Uint8Array> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new Error(`Graft: model file not found: ${path}`);
  }
  if (size > maxBytes) throw new Error(`Graft: ${path} is ${size} bytes, over the ${maxBytes}-byte limit`);
  const fh = await open(path, 'r');
  try {
    const bytes = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(bytes, off, size - off, off);
      if (bytesRead === 0) throw new Error(`Graft: ${path} shrank while being read`);
      off += bytesRead;
    }
    return bytes;
  } finally {
    await fh.close();
  }
}

/** The first `n` bytes of the file (fewer when it is shorter); throws when it cannot be opened. */
export async function readFileHead(path: string, n: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(n);
    const { bytesRead } = await fh.read(head, 0, n, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
