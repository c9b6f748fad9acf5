// Image resampling shared by every platform, so that Node (sharp decoding) and browsers (createImageBitmap decoding)
// give the same pixels: separable filters widened by the scale factor when shrinking (antialiased, as PIL and
// libvips do), centre-aligned (half-pixel) sampling, and Keras' crop/pad-to-aspect-ratio boxes.

import type { RgbImage } from '../platform/platform.js';

/** Resize filters, named as in Keras (tf.image.resize). */
export type ResizeInterpolation = 'bilinear' | 'nearest' | 'bicubic' | 'lanczos3' | 'mitchellcubic';

interface Filter {
  support: number;
  at: (x: number) => number;
}

const cubic = (b: number, c: number) => (x: number): number => {
  const t = Math.abs(x);
  if (t < 1) return ((12 - 9 * b - 6 * c) * t ** 3 + (-18 + 12 * b + 6 * c) * t ** 2 + (6 - 2 * b)) / 6;
  if (t < 2) return ((-b - 6 * c) * t ** 3 + (6 * b + 30 * c) * t ** 2 + (-12 * b - 48 * c) * t + (8 * b + 24 * c)) / 6;
  return 0;
};
const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

const FILTERS: Record<Exclude<ResizeInterpolation, 'nearest'>, Filter> = {
  bilinear: { support: 1, at: (x) => Math.max(0, 1 - Math.abs(x)) },
  // NOTE: Keys' cubic with a = -0.5 (B = 0, C = 0.5), as tf.image.resize's bicubic.
  bicubic: { support: 2, at: cubic(0, 0.5) },
  mitchellcubic: { support: 2, at: cubic(1 / 3, 1 / 3) },
  lanczos3: { support: 3, at: (x) => (Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

/** The resize filters' names. */
export const INTERPOLATIONS: readonly ResizeInterpolation[] = ['bilinear', 'nearest', 'bicubic', 'lanczos3', 'mitchellcubic'];

/** Throws naming the accepted filters when `name` is not one of them. */
export function checkInterpolation(op: string, name: string): ResizeInterpolation {
  if (!(INTERPOLATIONS as readonly string[]).includes(name)) {
    throw new Error(`Graft ${op}: unknown interpolation '${name}' (${INTERPOLATIONS.join(', ')})`);
  }
  return name as ResizeInterpolation;
}

/** For each output index: the first input index and the normalised weights of the inputs it reads. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  weights: Float32Array[];
}

/** Sampling of `outSize` outputs from input positions [start, start + length) of an axis of `inSize` pixels. */
function taps(inSize: number, start: number, length: number, outSize: number, kind: ResizeInterpolation): Taps {
  const scale = length / outSize;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights: Float32Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const centre = start + (i + 0.5) * scale;
    if (kind === 'nearest') {
      first[i] = Math.min(inSize - 1, Math.max(0, Math.floor(centre)));
      count[i] = 1;
      weights.push(Float32Array.of(1));
      continue;
    }
    const f = FILTERS[kind];
    const widen = Math.max(scale, 1);
    const lo = Math.max(0, Math.floor(centre - f.support * widen));
    const hi = Math.min(inSize, Math.ceil(centre + f.support * widen));
    const w = new Float32Array(Math.max(hi - lo, 1));
    let sum = 0;
    for (let j = lo; j < hi; j++) sum += (w[j - lo] = f.at((j + 0.5 - centre) / widen));
    if (sum === 0) {
      w.fill(0);
      w[Math.min(w.length - 1, Math.max(0, Math.floor(centre) - lo))] = 1;
    } else {
      for (let k = 0; k < w.length; k++) w[k]! /= sum;
    }
    first[i] = lo;
    count[i] = w.length;
    weights.push(w);
  }
  return { first, count, weights };
}

const clampByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** How an image reaches the target size. */
export interface ResizeOptions {
  /** Resize filter (default 'bilinear'). */
  interpolation?: ResizeInterpolation;
  /** Crop the centred largest window with the target aspect ratio first, instead of stretching (Keras crop_to_aspect_ratio). */
  cropToAspectRatio?: boolean;
  /** Pad with black to the target aspect ratio first, centred, instead of stretching (Keras pad_to_aspect_ratio). */
  padToAspectRatio?: boolean;
}

/** Keras' box arithmetic: the centred crop with the target aspect ratio. */
function cropBox(h: number, w: number, th: number, tw: number): [number, number, number, number] {
  const ch = Math.min(h, Math.floor((w * th) / tw));
  const cw = Math.min(w, Math.floor((h * tw) / th));
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

/** The image in black padding with the target aspect ratio, centred (Keras' pad_to_aspect_ratio). */
function padToAspect(img: RgbImage, th: number, tw: number): RgbImage {
  const ph = Math.max(img.height, Math.floor((img.width * th) / tw));
  const pw = Math.max(img.width, Math.floor((img.height * tw) / th));
  if (ph === img.height && pw === img.width) return img;
  const top = Math.floor((ph - img.height) / 2);
  const left = Math.floor((pw - img.width) / 2);
  const data = new Uint8Array(ph * pw * 3);
  for (let y = 0; y < img.height; y++) {
    data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + top) * pw + left) * 3);
  }
  return { width: pw, height: ph, data };
}

/** Resizes RGB pixels to `height x width` (two separable passes, rounding to bytes after each, like PIL). */
export function resizeRgb(image: RgbImage, height: number, width: number, options: ResizeOptions = {}): Uint8Array {
  const kind = options.interpolation ?? 'bilinear';
  const img = options.padToAspectRatio ? padToAspect(image, height, width) : image;
  const [y0, x0, ch, cw] = options.cropToAspectRatio ? cropBox(img.height, img.width, height, width) : [0, 0, img.height, img.width];
  const tx = taps(img.width, x0, cw, width, kind);
  const ty = taps(img.height, y0, ch, height, kind);
  // NOTE: rows outside the vertical taps are never read, so only [rowLo, rowHi) goes through the first pass.
  const rowLo = ty.first.reduce((m, v) => Math.min(m, v), img.height);
  const rowHi = ty.first.reduce((m, v, i) => Math.max(m, v + ty.count[i]!), 0);
  const mid = new Uint8Array((rowHi - rowLo) * width * 3);
  for (let y = rowLo; y < rowHi; y++) {
    const src = y * img.width * 3;
    const dst = (y - rowLo) * width * 3;
    for (let x = 0; x < width; x++) {
      const w = tx.weights[x]!;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0, p = src + tx.first[x]! * 3; k < w.length; k++, p += 3) {
        r += w[k]! * img.data[p]!;
        g += w[k]! * img.data[p + 1]!;
        b += w[k]! * img.data[p + 2]!;
      }
      mid[dst + x * 3] = clampByte(r);
      mid[dst + x * 3 + 1] = clampByte(g);
      mid[dst + x * 3 + 2] = clampByte(b);
    }
  }
  const out = new Uint8Array(height * width * 3);
  const row = width * 3;
  for (let y = 0; y < height; y++) {
    const w = ty.weights[y]!;
    const base = (ty.first[y]! - rowLo) * row;
    for (let i = 0; i < row; i++) {
      let s = 0;
      for (let k = 0; k < w.length; k++) s += w[k]! * mid[base + k * row + i]!;
      out[y * row + i] = clampByte(s);
    }
  }
  return out;
}
