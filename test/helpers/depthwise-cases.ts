// The depthwiseConv2d test cases and option helpers, shared by test/depthwise-conv2d.test.ts and
// test/depthwise-variants.test.ts (every variant runs the same cases).

import type * as g from '../../src/index.js';
import type { RefConvOptions, RefTensor } from '../../src/reference/index.js';

export interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides?: number | [number, number];
  padding?: RefConvOptions['padding'];
  dilations?: number | [number, number];
  bias?: boolean;
  activation?: RefConvOptions['activation'];
}

export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Forward cases: vec4 and scalar paths, strides, paddings, dilations, multipliers, 3..7 taps. */
export const cases: Case[] = [
  { x: [1, 7, 7, 8], f: [3, 3, 8, 1], padding: 'same' },
  { x: [3, 7, 7, 4], f: [3, 3, 4, 1], strides: 2, padding: 'same', bias: true, activation: 'silu' },
  { x: [2, 9, 9, 12], f: [5, 5, 12, 1], padding: 'same', bias: true },
  { x: [1, 11, 10, 8], f: [5, 5, 8, 1], strides: 2, padding: 'same', activation: 'relu6', bias: true },
  { x: [1, 7, 7, 3], f: [3, 3, 3, 1], padding: 'valid' },
  { x: [2, 7, 8, 5], f: [3, 3, 5, 2], strides: 2, padding: 'same', bias: true, activation: 'relu' },
  { x: [1, 9, 9, 4], f: [3, 3, 4, 1], dilations: 2, padding: 'same' },
  { x: [1, 8, 7, 6], f: [3, 2, 6, 3], padding: [2, 0, 1, 1], bias: true, activation: 'sigmoid' },
  { x: [1, 19, 17, 4], f: [3, 3, 4, 2], strides: [1, 2], padding: 'same' },
  { x: [2, 13, 13, 16], f: [7, 7, 16, 1], padding: 'same' },
];

export const label = (c: Case) => `x${JSON.stringify(c.x)} f${JSON.stringify(c.f)} s${JSON.stringify(c.strides ?? 1)} p${JSON.stringify(c.padding ?? 'valid')} d${JSON.stringify(c.dilations ?? 1)}${c.bias ? ' +bias' : ''} ${c.activation ?? ''}`;

export const outChannels = (c: Case) => c.f[2] * c.f[3];

export function refOpts(c: Case, bias?: RefTensor): RefConvOptions {
  return { strides: c.strides, padding: c.padding, dilations: c.dilations, activation: c.activation, ...(bias ? { bias } : {}) };
}

export function gpuOpts(c: Case, bias?: g.Tensor): g.DepthwiseConv2DOptions {
  return { strides: c.strides, padding: c.padding, dilations: c.dilations, activation: c.activation, ...(bias ? { bias } : {}) };
}

/** Gradient cases small enough for a full Jacobian. */
export const tiny: Case[] = [
  { x: [1, 5, 5, 4], f: [3, 3, 4, 1], padding: 'same', bias: true },
  { x: [2, 5, 4, 4], f: [3, 3, 4, 1], strides: 2, padding: 'same', bias: true },
  { x: [1, 5, 5, 3], f: [3, 3, 3, 2], strides: 2, padding: 'same', bias: true },
  { x: [1, 6, 5, 2], f: [2, 3, 2, 2], dilations: 2, padding: [1, 0, 2, 1] },
  { x: [1, 6, 6, 4], f: [5, 5, 4, 1], padding: 'same' },
];

/** Gradient cases checked along random directions. */
export const realistic: Case[] = [
  { x: [2, 14, 14, 24], f: [3, 3, 24, 1], strides: 2, padding: 'same', bias: true },
  { x: [2, 14, 14, 24], f: [5, 5, 24, 1], padding: 'same', bias: true },
  { x: [2, 9, 9, 6], f: [3, 3, 6, 2], padding: 'same', bias: true },
];
