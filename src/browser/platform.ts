// The browser platform: navigator.gpu, WGSL inlined by the build, OPFS for files, createImageBitmap for decoding.

import type { Platform, RgbImage } from '../platform/platform.js';
import { opfsFiles } from './opfs.js';
import { bundledShaders } from './shaders.js';

async function decodeImage(bytes: Uint8Array, label: string): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    // NOTE: no colour-space conversion and no premultiplication, so pixels match sharp's decoding of the same file.
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new Error(`${label}: not a decodable image (${(e as Error).message || (e as Error).name})`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error(`${label}: no 2D canvas to decode into`);
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height, { colorSpace: 'srgb' }).data;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < data.length; i += 3, j += 4) {
    data[i] = rgba[j]!;
    data[i + 1] = rgba[j + 1]!;
    data[i + 2] = rgba[j + 2]!;
  }
  return { width, height, data };
}

/** The browser's services for the engine. */
export const browserPlatform: Platform = {
  name: 'browser',
  async gpu() {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) throw new Error('navigator.gpu is missing: this browser has no WebGPU, or the page is not a secure context');
    return gpu;
  },
  shaderSource: (name) => bundledShaders.get(name),
  files: opfsFiles,
  decodeImage,
  stdout: {
    // NOTE: the console has no carriage return; each progress update is its own line.
    write: (text: string) => {
      const t = text.replace(/^\r/, '').replace(/\n$/, '');
      if (t.trim()) console.log(t);
    },
  },
  hostname: () => 'browser',
};
