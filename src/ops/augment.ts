// Data augmentation on NHWC float32 batches: one kernel dispatch per op per batch, per-image parameters drawn on the
// CPU from a seeded stream and uploaded as a small tensor. These ops record no gradients: augmentation sits before
// every trainable weight, so nothing upstream of it needs one (outputs never require grad).

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { Tensor, tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { checkFloat, checkRankIs } from './checks.js';
import {
  drawContrasts, drawFlips, drawRotations, drawTranslations, drawZooms, randomStream,
  type AugmentFactor, type FlipMode, type AugmentRandomSource,
} from './augment-params.js';

export {
  deriveSeed, rotationTransform, zoomTransform, translationTransform, drawRotations, drawZooms, drawTranslations,
  drawFlips, drawContrasts, flipTransform, composeTransforms, type AugmentFactor, type FlipMode, type AugmentRandomSource,
} from './augment-params.js';

/** How points outside the image are filled (Keras' fill_mode; values as in keras.ops.image.map_coordinates). */
export type AffineFillMode = 'reflect' | 'wrap' | 'constant' | 'nearest';
/** Resampling of affine transforms. */
export type AffineInterpolation = 'bilinear' | 'nearest';

const FILL_CODE: Record<AffineFillMode, number> = { reflect: 0, wrap: 1, constant: 2, nearest: 3 };
const INTERP_CODE: Record<AffineInterpolation, number> = { nearest: 0, bilinear: 1 };

const WG = 64;

interface AugParams {
  n: number;
  h: number;
  w: number;
  c: number;
  fill: number;
  lo: number;
  hi: number;
  interp: number;
  fillMode: number;
}

const uniforms = (p: AugParams) => new Uniforms().u32(p.n, p.h, p.w, p.c).f32(p.fill, p.lo, p.hi);
const perPixel = (p: AugParams) => grid(Math.ceil((p.n * p.h * p.w) / WG));

const affineKernel = defineKernel<AugParams>({
  name: 'augment_affine',
  shader: 'augment',
  entryPoint: 'affine',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WG, INTERP: p.interp, FILL: p.fillMode }),
  uniforms,
  workgroups: perPixel,
});

const flipKernel = defineKernel<AugParams>({
  name: 'augment_flip',
  shader: 'augment',
  entryPoint: 'flip',
  inputs: 2,
  outputs: 1,
  constants: () => ({ WG }),
  uniforms,
  workgroups: perPixel,
});

const contrastKernel = defineKernel<AugParams>({
  name: 'augment_contrast',
  shader: 'augment',
  entryPoint: 'contrast',
  inputs: 2,
  outputs: 1,
  constants: () => ({ WG }),
  uniforms,
  workgroups: (p) => grid(p.n * p.c),
});

/** Options of the affine resampler (Keras defaults: bilinear, reflect, fill 0). */
export interface AffineOptions {
  /** 'bilinear' (default) or 'nearest' (rounds half to even, like NumPy and JAX). */
  interpolation?: AffineInterpolation;
  /**
   * 'reflect' (default; d c b a | a b c d | d c b a), 'wrap' (a b c d | a b c d), 'constant' (fillValue),
   * 'nearest' (a a | a b c d | d d). Applied to each interpolation tap.
   * Porting note: these are the tap-wise definitions of Keras 3's map_coordinates (JAX, NumPy, PyTorch backends);
   * TensorFlow's ImageProjectiveTransformV3 maps the continuous coordinate first, which differs by under a pixel at the
   * border for 'reflect' and 'wrap'.
   */
  fillMode?: AffineFillMode;
  /** Value of points outside the image when fillMode is 'constant' (default 0). */
  fillValue?: number;
}

function checkImages(op: string, x: Tensor): [number, number, number, number] {
  checkFloat(op, x);
  checkRankIs(op, x, 4, 'images [N,H,W,C]');
  const [n, h, w, c] = x.shape as [number, number, number, number];
  return [n, h, w, c];
}

function baseParams(x: Tensor): AugParams {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  return { n, h, w, c, fill: 0, lo: 0, hi: 0, interp: 0, fillMode: 0 };
}

/** Runs `kernel` on x with a per-image parameter array uploaded for this call. */
function runWith(kernel: typeof affineKernel, x: Tensor, perImage: Float32Array | Int32Array, p: AugParams): Tensor {
  const out = new Tensor(x.device, x.shape, 'float32');
  if (x.size === 0) return out;
  const dtype = perImage instanceof Int32Array ? 'int32' : 'float32';
  const params = tensor(perImage, [perImage.length], { dtype, device: x.device });
  x.device.run(kernel, [x.buffer, params.buffer], [out.buffer], p);
  params.dispose();
  return out;
}

/**
 * Resamples each image through its own projective transform: `transforms` holds N rows of Keras' 8 values
 * [a0,a1,a2,b0,b1,b2,c0,c1]; output pixel (col, row) reads input point ((a0*col + a1*row + a2) / k,
 * (b0*col + b1*row + b2) / k) with k = c0*col + c1*row + 1 (pixel centres at integer coordinates; k = 0 gives fillValue).
 * No gradient is recorded.
 */
export function affineTransform(x: Tensor, transforms: Float32Array | readonly number[], options: AffineOptions = {}): Tensor {
  const [n] = checkImages('affineTransform', x);
  if (transforms.length !== n * 8) {
    throw new Error(`Graft affineTransform: images ${formatShape(x.shape)} need ${n * 8} transform values (N x 8), got ${transforms.length}`);
  }
  const interp = options.interpolation ?? 'bilinear';
  const fillMode = options.fillMode ?? 'reflect';
  if (!(interp in INTERP_CODE)) throw new Error(`Graft affineTransform: unknown interpolation '${interp}' (bilinear, nearest)`);
  if (!(fillMode in FILL_CODE)) throw new Error(`Graft affineTransform: unknown fillMode '${fillMode}' (reflect, wrap, constant, nearest)`);
  return runWith(affineKernel, x, Float32Array.from(transforms), {
    ...baseParams(x),
    fill: options.fillValue ?? 0,
    interp: INTERP_CODE[interp],
    fillMode: FILL_CODE[fillMode],
  });
}

/** Flips images whose flag has bit 0 (left-right) and/or bit 1 (top-bottom) set; one flag per image. */
export function flipImages(x: Tensor, flags: Int32Array | readonly number[]): Tensor {
  const [n] = checkImages('flipImages', x);
  if (flags.length !== n) throw new Error(`Graft flipImages: images ${formatShape(x.shape)} need ${n} flags, got ${flags.length}`);
  return runWith(flipKernel, x, Int32Array.from(flags), baseParams(x));
}

/** Options of adjustContrast and randomContrast. */
export interface ContrastOptions {
  /** Outputs are clipped to this range (Keras 3 default [0, 255]); null leaves them unclipped. */
  valueRange?: readonly [number, number] | null;
}

/** (x - mean) * factor + mean per image and channel (mean over H and W), one factor per image, then clipped. */
export function adjustContrast(x: Tensor, factors: Float32Array | readonly number[], options: ContrastOptions = {}): Tensor {
  const [n] = checkImages('adjustContrast', x);
  if (factors.length !== n) throw new Error(`Graft adjustContrast: images ${formatShape(x.shape)} need ${n} factors, got ${factors.length}`);
  const range = options.valueRange === undefined ? ([0, 255] as const) : options.valueRange;
  // NOTE: ±FLT_MAX disables the clip without a separate specialization.
  const lo = range ? range[0] : -3.4028234663852886e38;
  const hi = range ? range[1] : 3.4028234663852886e38;
  if (lo > hi) throw new Error(`Graft adjustContrast: valueRange [${lo}, ${hi}] is empty`);
  return runWith(contrastKernel, x, Float32Array.from(factors), { ...baseParams(x), lo, hi });
}

/** Options of randomFlip (Keras RandomFlip). */
export interface RandomFlipOptions extends AugmentRandomSource {
  /** Axes that may flip, each with probability 1/2 per image (default 'horizontal_and_vertical', as in Keras). */
  mode?: FlipMode;
}

/** Flips each image left-right and/or top-bottom at random. */
export function randomFlip(x: Tensor, options: RandomFlipOptions = {}): Tensor {
  const [n] = checkImages('randomFlip', x);
  const mode = options.mode ?? 'horizontal_and_vertical';
  if (!['horizontal', 'vertical', 'horizontal_and_vertical'].includes(mode)) {
    throw new Error(`Graft randomFlip: unknown mode '${mode}' (horizontal, vertical, horizontal_and_vertical)`);
  }
  return flipImages(x, drawFlips(n, mode, randomStream(options)));
}

/** Options of randomRotation (Keras RandomRotation). */
export interface RandomRotationOptions extends AffineOptions, AugmentRandomSource {
  /** Fraction of a full turn: 0.1 rotates by a random angle in [-36, 36] degrees; [lo, hi] is asymmetric. */
  factor: AugmentFactor;
}

/** Rotates each image about its centre by a random angle (positive: counter-clockwise). */
export function randomRotation(x: Tensor, options: RandomRotationOptions): Tensor {
  const [n, h, w] = checkImages('randomRotation', x);
  return affineTransform(x, drawRotations(n, h, w, options.factor, randomStream(options)), options);
}

/** Options of randomZoom (Keras RandomZoom). */
export interface RandomZoomOptions extends AffineOptions, AugmentRandomSource {
  /** Vertical zoom 1 + U(lo, hi); positive zooms out, negative zooms in (0.2 = [-20%, +20%]). */
  heightFactor: AugmentFactor;
  /** Horizontal zoom likewise; omitted, each image keeps its aspect ratio (the height's zoom). */
  widthFactor?: AugmentFactor;
}

/** Zooms each image about its centre by a random amount. */
export function randomZoom(x: Tensor, options: RandomZoomOptions): Tensor {
  const [n, h, w] = checkImages('randomZoom', x);
  return affineTransform(x, drawZooms(n, h, w, options.heightFactor, options.widthFactor, randomStream(options)), options);
}

/** Options of randomTranslation (Keras RandomTranslation). */
export interface RandomTranslationOptions extends AffineOptions, AugmentRandomSource {
  /** Vertical shift as a fraction of the height: 0.2 = [-20%, +20%]; positive moves the image down. */
  heightFactor: AugmentFactor;
  /** Horizontal shift as a fraction of the width; positive moves the image right. */
  widthFactor: AugmentFactor;
}

/** Shifts each image by a random fraction of its size. */
export function randomTranslation(x: Tensor, options: RandomTranslationOptions): Tensor {
  const [n, h, w] = checkImages('randomTranslation', x);
  const t = drawTranslations(n, h, w, options.heightFactor, options.widthFactor, randomStream(options));
  return affineTransform(x, t, options);
}

/** Options of randomContrast (Keras RandomContrast). */
export interface RandomContrastOptions extends ContrastOptions, AugmentRandomSource {
  /** AugmentFactor per image drawn from [1 - lower, 1 + upper]; a number f means lower = upper = f. */
  factor: AugmentFactor;
}

/** Scales each image's deviation from its per-channel mean by a random factor, clipped to valueRange. */
export function randomContrast(x: Tensor, options: RandomContrastOptions): Tensor {
  const [n] = checkImages('randomContrast', x);
  return adjustContrast(x, drawContrasts(n, options.factor, randomStream(options)), options);
}
