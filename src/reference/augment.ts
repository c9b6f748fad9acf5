// Float64 reference for the augmentation ops: Keras 3's map_coordinates taps (NumPy backend) written as plain loops.

import { refZeros, type RefTensor } from './tensor.js';

export type RefFillMode = 'reflect' | 'wrap' | 'constant' | 'nearest';

/** NumPy's round: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Keras' index fixers; null marks a tap outside the image in constant mode. */
function fixIndex(i: number, size: number, mode: RefFillMode): number | null {
  switch (mode) {
    case 'constant':
      return i >= 0 && i < size ? i : null;
    case 'nearest':
      return Math.min(Math.max(i, 0), size - 1);
    case 'wrap':
      return ((i % size) + size) % size;
    case 'reflect': {
      // keras _reflect_index_fixer: floor((mirror(2i + 1, 2 size + 1) - 1) / 2), mirror a triangular wave.
      const s = 2 * size;
      const j = 2 * i + 1;
      const mirrored = Math.abs((((j + s) % (2 * s)) + 2 * s) % (2 * s) - s);
      return Math.floor((mirrored - 1) / 2);
    }
  }
}

/** Projective resampling of NHWC images, one Keras 8-vector per image (see affineTransform). */
export function affineTransformRef(
  x: RefTensor,
  transforms: ArrayLike<number>,
  interpolation: 'bilinear' | 'nearest',
  fillMode: RefFillMode,
  fillValue = 0,
): RefTensor {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = refZeros(x.shape);
  const at = (b: number, r: number, q: number, ch: number) => x.data[((b * h + r) * w + q) * c + ch]!;
  for (let b = 0; b < n; b++) {
    const t = Array.from({ length: 8 }, (_, k) => transforms[b * 8 + k]!);
    for (let row = 0; row < h; row++) {
      for (let col = 0; col < w; col++) {
        const o = ((b * h + row) * w + col) * c;
        const k = t[6]! * col + t[7]! * row + 1;
        if (k === 0) {
          for (let ch = 0; ch < c; ch++) out.data[o + ch] = fillValue;
          continue;
        }
        const xi = (t[0]! * col + t[1]! * row + t[2]!) / k;
        const yi = (t[3]! * col + t[4]! * row + t[5]!) / k;
        // Taps per axis: [index, weight].
        const taps = (v: number): [number, number][] => {
          if (interpolation === 'nearest') return [[roundHalfEven(v), 1]];
          const lo = Math.floor(v);
          return [[lo, 1 - (v - lo)], [lo + 1, v - lo]];
        };
        for (let ch = 0; ch < c; ch++) {
          let acc = 0;
          for (const [ty, wy] of taps(yi)) {
            for (const [tx, wx] of taps(xi)) {
              const fy = fixIndex(ty, h, fillMode);
              const fx = fixIndex(tx, w, fillMode);
              acc += wy * wx * (fy === null || fx === null ? fillValue : at(b, fy, fx, ch));
            }
          }
          out.data[o + ch] = acc;
        }
      }
    }
  }
  return out;
}

/** Flips image b left-right when bit 0 of flags[b] is set, top-bottom when bit 1 is. */
export function flipRef(x: RefTensor, flags: ArrayLike<number>): RefTensor {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = refZeros(x.shape);
  for (let b = 0; b < n; b++) {
    for (let row = 0; row < h; row++) {
      for (let col = 0; col < w; col++) {
        const sr = flags[b]! & 2 ? h - 1 - row : row;
        const sc = flags[b]! & 1 ? w - 1 - col : col;
        for (let ch = 0; ch < c; ch++) {
          out.data[((b * h + row) * w + col) * c + ch] = x.data[((b * h + sr) * w + sc) * c + ch]!;
        }
      }
    }
  }
  return out;
}

/** Keras RandomContrast's transform: per image and channel mean over H, W; then clip to [lo, hi]. */
export function contrastRef(x: RefTensor, factors: ArrayLike<number>, lo = -Infinity, hi = Infinity): RefTensor {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const out = refZeros(x.shape);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      let sum = 0;
      for (let p = 0; p < h * w; p++) sum += x.data[(b * h * w + p) * c + ch]!;
      const mean = sum / (h * w);
      for (let p = 0; p < h * w; p++) {
        const i = (b * h * w + p) * c + ch;
        out.data[i] = Math.min(hi, Math.max(lo, (x.data[i]! - mean) * factors[b]! + mean));
      }
    }
  }
  return out;
}
