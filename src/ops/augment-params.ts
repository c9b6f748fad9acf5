// CPU side of the random augmentations: Keras' factor ranges, per-image draws and the transforms they build.
// Every transform is Keras' 8-vector [a0,a1,a2,b0,b1,b2,c0,c1] mapping an output pixel (col, row) to the input point
// ((a0*col + a1*row + a2) / k, (b0*col + b1*row + b2) / k), k = c0*col + c1*row + 1 (ImageProjectiveTransformV3).

import { fmix32, rng } from '../tensor/random.js';

/** A random factor: a number f means [-f, f] (contrast: [f, f]); a pair is [lower, upper]. */
export type AugmentFactor = number | readonly [number, number];

/** Where random parameters come from; reproducible given the seed (and the call count, for a stream). */
export interface AugmentRandomSource {
  /**
   * Seeds a fresh stream for this call: the same seed draws the same parameters. A layer passes
   * `deriveSeed(layerSeed, callCount)`, so that resuming from a checkpoint needs only the call count.
   */
  seed?: number;
  /** A stream the caller owns (e.g. `rng(seed)` kept by a layer), so successive calls differ reproducibly. */
  random?: () => number;
}

/** The stream for one op call: `random`, else `rng(seed)`, else an unseeded stream (like Keras without a seed). */
export function randomStream(src: AugmentRandomSource): () => number {
  if (src.random) return src.random;
  return rng(src.seed ?? Math.floor(Math.random() * 2 ** 32));
}

/** Mixes a base seed and a counter into a new 32-bit seed (splitmix-style), e.g. one seed per training step. */
export function deriveSeed(seed: number, counter: number): number {
  return fmix32((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((counter >>> 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0);
}

/** Resolves a symmetric-by-default factor to [lower, upper]; throws naming the op when lower > upper. */
export function factorRange(op: string, name: string, f: AugmentFactor): [number, number] {
  const [lo, hi] = typeof f === 'number' ? [-Math.abs(f), Math.abs(f)] : [f[0], f[1]];
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new Error(`Graft ${op}: ${name} must be a number or [lower, upper] with lower <= upper, got ${JSON.stringify(f)}`);
  }
  return [lo, hi];
}

function uniform(r: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * r();
}

/** Keras' rotation about the image centre by `angle` radians (positive: counter-clockwise on screen). */
export function rotationTransform(angle: number, h: number, w: number): number[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const xOff = (w - 1 - (c * (w - 1) - s * (h - 1))) / 2;
  const yOff = (h - 1 - (s * (w - 1) + c * (h - 1))) / 2;
  return [c, -s, xOff, s, c, yOff, 0, 0];
}

/** Keras' zoom about the centre: zx, zy > 1 sample a larger input region (zoom out), < 1 zoom in. */
export function zoomTransform(zx: number, zy: number, h: number, w: number): number[] {
  return [zx, 0, ((w - 1) / 2) * (1 - zx), 0, zy, ((h - 1) / 2) * (1 - zy), 0, 0];
}

/** Keras' translation: the image moves right by dx and down by dy pixels. */
export function translationTransform(dx: number, dy: number): number[] {
  return [1, 0, -dx, 0, 1, -dy, 0, 0];
}

/** One rotation transform per image; `factor` is a fraction of a full turn (0.1 = ±36 degrees). */
export function drawRotations(n: number, h: number, w: number, factor: AugmentFactor, r: () => number): Float32Array {
  const [lo, hi] = factorRange('randomRotation', 'factor', factor);
  if (lo < -1 || hi > 1) throw new Error(`Graft randomRotation: factor values must be within [-1, 1] (full turns), got [${lo}, ${hi}]`);
  const out = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) out.set(rotationTransform(uniform(r, lo * 2 * Math.PI, hi * 2 * Math.PI), h, w), i * 8);
  return out;
}

/** One zoom transform per image; zoom = 1 + factor, and without `widthFactor` the width reuses the height's zoom. */
export function drawZooms(n: number, h: number, w: number, heightFactor: AugmentFactor, widthFactor: AugmentFactor | undefined, r: () => number): Float32Array {
  const hr = factorRange('randomZoom', 'heightFactor', heightFactor);
  const wr = widthFactor === undefined ? null : factorRange('randomZoom', 'widthFactor', widthFactor);
  for (const [name, range] of [['heightFactor', hr], ['widthFactor', wr]] as const) {
    if (range && range[0] < -1) throw new Error(`Graft randomZoom: ${name} values must be >= -1, got [${range.join(', ')}]`);
  }
  const out = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) {
    const zy = 1 + uniform(r, hr[0], hr[1]);
    const zx = wr ? 1 + uniform(r, wr[0], wr[1]) : zy;
    out.set(zoomTransform(zx, zy, h, w), i * 8);
  }
  return out;
}

/** One translation per image; factors are fractions of the height and width, within [-1, 1]. */
export function drawTranslations(n: number, h: number, w: number, heightFactor: AugmentFactor, widthFactor: AugmentFactor, r: () => number): Float32Array {
  const hr = factorRange('randomTranslation', 'heightFactor', heightFactor);
  const wr = factorRange('randomTranslation', 'widthFactor', widthFactor);
  for (const [name, range] of [['heightFactor', hr], ['widthFactor', wr]] as const) {
    if (Math.abs(range[0]) > 1 || Math.abs(range[1]) > 1) {
      throw new Error(`Graft randomTranslation: ${name} values must be within [-1, 1], got [${range.join(', ')}]`);
    }
  }
  const out = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) {
    const dy = uniform(r, hr[0], hr[1]) * h;
    const dx = uniform(r, wr[0], wr[1]) * w;
    out.set(translationTransform(dx, dy), i * 8);
  }
  return out;
}

/** Flip flags per image (bit 0 horizontal, bit 1 vertical), each axis flipped with probability 1/2. */
export function drawFlips(n: number, mode: FlipMode, r: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let f = 0;
    if (mode !== 'vertical' && r() < 0.5) f |= 1;
    if (mode !== 'horizontal' && r() < 0.5) f |= 2;
    out[i] = f;
  }
  return out;
}

/** Which axes randomFlip may flip. */
export type FlipMode = 'horizontal' | 'vertical' | 'horizontal_and_vertical';

/** One contrast factor per image, uniform in [1 - lower, 1 + upper]; Keras requires 0 <= lower <= 1, upper >= 0. */
export function drawContrasts(n: number, factor: AugmentFactor, r: () => number): Float32Array {
  const [lo, hi] = typeof factor === 'number' ? [factor, factor] : [factor[0], factor[1]];
  if (!(lo >= 0 && hi >= 0 && lo <= 1)) {
    throw new Error(`Graft randomContrast: factor must be in [0, 1] (upper may exceed 1), got ${JSON.stringify(factor)}`);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = uniform(r, 1 - lo, 1 + hi);
  return out;
}

/** Keras' flip as a transform: mirrors columns (horizontal) and/or rows (vertical). */
export function flipTransform(horizontal: boolean, vertical: boolean, h: number, w: number): number[] {
  return [horizontal ? -1 : 1, 0, horizontal ? w - 1 : 0, 0, vertical ? -1 : 1, vertical ? h - 1 : 0, 0, 0];
}

/**
 * One transform per image equal to applying `first`, then `second` (N x 8 each): a stack of flip, rotation, zoom
 * and translation can then resample once. Porting note: Keras resamples after each layer, so borders and bilinear
 * blur differ slightly from the single pass.
 */
export function composeTransforms(first: ArrayLike<number>, second: ArrayLike<number>): Float32Array {
  if (first.length !== second.length || first.length % 8 !== 0) {
    throw new Error(`Graft composeTransforms: expected two N x 8 arrays of equal length, got ${first.length} and ${second.length}`);
  }
  const out = new Float32Array(first.length);
  const m = (t: ArrayLike<number>, o: number) => [t[o]!, t[o + 1]!, t[o + 2]!, t[o + 3]!, t[o + 4]!, t[o + 5]!, t[o + 6]!, t[o + 7]!, 1];
  for (let o = 0; o < first.length; o += 8) {
    // Output points map through `second` into the intermediate image, then through `first` into the input.
    const a = m(first, o);
    const b = m(second, o);
    const p = new Array<number>(9);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) p[i * 3 + j] = a[i * 3]! * b[j]! + a[i * 3 + 1]! * b[3 + j]! + a[i * 3 + 2]! * b[6 + j]!;
    }
    if (p[8] === 0) throw new Error(`Graft composeTransforms: image ${o / 8} composes to a degenerate projective transform`);
    for (let k = 0; k < 8; k++) out[o + k] = p[k]! / p[8]!;
  }
  return out;
}
