// Reading .npy files from disk synchronously (the CLI's `graft run`, tests).

import { readFileSync } from 'node:fs';
import { NpyError, parseNpy, type NpyArray } from '../io/npy.js';

/** Reads a .npy file. */
export function readNpy(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new NpyError(path, `cannot be read: ${(e as Error).message}`);
  }
  return parseNpy(bytes, path);
}
