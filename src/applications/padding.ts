// Padding of the applications' convolutions: Keras' rules by default, or the exact amounts an ONNX file uses.

import { samePads } from '../ops/conv-geometry.js';
import type { ConvLayerPadding, Shape } from '../nn/index.js';

/** Padding amounts [top, bottom, left, right]. */
export type Pads = [number, number, number, number];

/** Per-layer settings taken from a weights file; a missing entry keeps Keras' choice. */
export interface FileOverrides {
  /** Total padding of a convolution (its pad layer plus its own), by conv layer name. */
  pads?: Map<string, Pads>;
  /** BatchNormalization epsilon by layer name. */
  epsilons?: Map<string, number>;
}

/** Spatial size of an NHWC shape; the applications build on a known input size. */
export function spatial(shape: Shape, where: string): [number, number] {
  const [h, w] = [shape[1], shape[2]];
  if (typeof h !== 'number' || typeof w !== 'number') throw new Error(`Graft ${where}: needs a known input height and width`);
  return [h, w];
}

/** Keras imagenet_utils.correct_pad: k//2 at the end, one less at the start on an even size (TF 'same' for stride 2). */
export function correctPad([h, w]: [number, number], k: number): Pads {
  const c = k >> 1;
  return [c - (1 - (h % 2)), c, c - (1 - (w % 2)), c];
}

/** The amounts a Keras padding mode gives a conv on an input of size hw. */
export function kerasPads(mode: 'same' | 'valid', [h, w]: [number, number], k: number, stride: number): Pads {
  if (mode === 'valid') return [0, 0, 0, 0];
  return [...samePads(h, k, stride, 1), ...samePads(w, k, stride, 1)] as Pads;
}

/** A conv layer's padding: Keras' mode when the file agrees with it (or gives nothing), else the file's amounts. */
export function convPadding(mode: 'same' | 'valid', file: Pads | undefined, hw: [number, number], k: number, stride: number): ConvLayerPadding {
  if (!file) return mode;
  const keras = kerasPads(mode, hw, k, stride);
  return file.every((p, i) => p === keras[i]) ? mode : [...file];
}
