// Padding and output-size rules shared by conv2d and depthwiseConv2d (TensorFlow 'same'/'valid', explicit ONNX pads).

import { formatShape } from '../tensor/shape.js';
import { ACTIVATION, type FusedActivation } from './activation.js';

/** 'same' (TensorFlow rule: extra pad at the end), 'valid' (none), or explicit [top, bottom, left, right]. */
export type ConvPadding = 'same' | 'valid' | readonly [number, number, number, number];

/** Activation applied by the convolution epilogue. */
export type ConvActivation = Exclude<FusedActivation, 'tanh'>;

/** Epilogue codes of the conv activations: the shared codes of src/ops/activation.ts. */
export const ACTIVATION_CODE: Record<ConvActivation, number> = { linear: ACTIVATION.linear, relu: ACTIVATION.relu, relu6: ACTIVATION.relu6, sigmoid: ACTIVATION.sigmoid, silu: ACTIVATION.silu };

/** Options shared by conv2d and depthwiseConv2d. */
export interface ConvGeometryOptions {
  /** Stride in H and W (a number applies to both). Default 1. */
  strides?: number | readonly [number, number];
  /** Default 'valid', as in Keras. */
  padding?: ConvPadding;
  /** Dilation in H and W (a number applies to both). Default 1. */
  dilations?: number | readonly [number, number];
}

/** Everything a convolution kernel needs to index its input and output. */
export interface ConvGeometry {
  /** Batch size. */
  n: number;
  /** Input height, width and channels. */
  h: number;
  w: number;
  c: number;
  /** Filter height and width. */
  kh: number;
  kw: number;
  /** Strides. */
  sh: number;
  sw: number;
  /** Dilations. */
  dh: number;
  dw: number;
  /** Padding at the top, bottom, left and right. */
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  /** Output height and width. */
  oh: number;
  ow: number;
}

function pair(op: string, what: string, v: number | readonly [number, number] | undefined, shapes: string): [number, number] {
  const p: [number, number] = v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.length !== 2 || p.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`Graft ${op}: ${what} must be positive integers, got ${JSON.stringify(v)} for ${shapes}`);
  }
  return p;
}

/** TensorFlow 'same' padding along one axis: [before, after] with the extra pad at the end. */
export function samePads(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Output extent along one axis for explicit pads. */
export function outExtent(size: number, k: number, s: number, d: number, before: number, after: number): number {
  return Math.floor((size + before + after - ((k - 1) * d + 1)) / s) + 1;
}

/**
 * Resolves strides, dilations and padding for an NHWC input `x` and a filter of spatial size kh x kw;
 * throws naming the op and the shapes on bad options or an empty output.
 */
export function convGeometry(
  op: string,
  x: readonly number[],
  filter: readonly number[],
  options: ConvGeometryOptions,
): ConvGeometry {
  const shapes = `input ${formatShape(x)} and filter ${formatShape(filter)}`;
  const [n, h, w, c] = x as [number, number, number, number];
  const [kh, kw] = filter as [number, number];
  const [sh, sw] = pair(op, 'strides', options.strides, shapes);
  const [dh, dw] = pair(op, 'dilations', options.dilations, shapes);
  const padding = options.padding ?? 'valid';
  let pads: [number, number, number, number];
  if (padding === 'same') {
    pads = [...samePads(h, kh, sh, dh), ...samePads(w, kw, sw, dw)];
  } else if (padding === 'valid') {
    pads = [0, 0, 0, 0];
  } else if (Array.isArray(padding) && padding.length === 4 && padding.every((p) => Number.isInteger(p) && p >= 0)) {
    pads = [padding[0], padding[1], padding[2], padding[3]];
  } else {
    throw new Error(`Graft ${op}: padding must be 'same', 'valid' or [top, bottom, left, right] non-negative integers, got ${JSON.stringify(padding)} for ${shapes}`);
  }
  const [padTop, padBottom, padLeft, padRight] = pads;
  const oh = outExtent(h, kh, sh, dh, padTop, padBottom);
  const ow = outExtent(w, kw, sw, dw, padLeft, padRight);
  if (oh < 1 || ow < 1) {
    throw new Error(`Graft ${op}: ${shapes} with pads ${formatShape(pads)} give an empty output ${oh}x${ow}`);
  }
  return { n, h, w, c, kh, kw, sh, sw, dh, dw, padTop, padBottom, padLeft, padRight, oh, ow };
}
