// The Node platform: Dawn's WebGPU (the `webgpu` package), WGSL read from the package's shaders/ folder, the file
// system, sharp for decoding, process.stdout.

import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Platform, RgbImage } from '../platform/platform.js';
import { nodeFiles } from './files.js';

// NOTE: from src/node/ (tsx, vitest) the shaders are two levels up; from dist/src/node/ three.
const SHADER_DIRS = ['../../shaders/', '../../../shaders/'];

function shaderSource(name: string): string | undefined {
  for (const dir of SHADER_DIRS) {
    const url = new URL(`${dir}${name}.wgsl`, import.meta.url);
    if (existsSync(url)) return readFileSync(url, 'utf8');
  }
  return undefined;
}

let sharpModule: Promise<typeof import('sharp').default> | null = null;
// NOTE: loaded on first use: programs that never decode an image do not load the native module.
const loadSharp = () => (sharpModule ??= import('sharp').then((m) => m.default));

async function decodeImage(bytes: Uint8Array, label: string): Promise<RgbImage> {
  const sharp = await loadSharp();
  try {
    const { data, info } = await sharp(bytes, { failOn: 'truncated' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
}

/** Node's services for the engine. */
export const nodePlatform: Platform = {
  name: 'node',
  async gpu() {
    if (process.platform === 'linux' && !process.env['XDG_RUNTIME_DIR']) {
      process.env['XDG_RUNTIME_DIR'] = '/tmp'; // NOTE: silences Mesa's warning about a missing runtime dir
    }
    const { create } = await import('webgpu');
    return create([]);
  },
  shaderSource,
  files: nodeFiles,
  decodeImage,
  stdout: process.stdout,
  hostname: () => hostname(),
};
