// conv2d test cases shared by test/conv2d.test.ts and test/conv2d-variants.test.ts: geometries over strides, pads,
// dilations, bias and activations, with their options for the float64 oracle and for Graft.

import type * as g from '../../src/index.js';
import type { ref, RefConvOptions } from '../../src/reference/index.js';

export type Pad = RefConvOptions['padding'];
export interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides?: number | [number, number];
  padding?: Pad;
  dilations?: number | [number, number];
  bias?: boolean;
  activation?: RefConvOptions['activation'];
}

export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export const cases: Case[] = [
  { x: [1, 7, 7, 4], f: [3, 3, 4, 8], padding: 'same' },
  { x: [3, 7, 7, 3], f: [3, 3, 3, 5], padding: 'valid' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 32], strides: 2, padding: 'same', bias: true, activation: 'silu' },
  { x: [1, 7, 8, 6], f: [3, 3, 6, 7], strides: 2, padding: 'same' },
  { x: [2, 7, 7, 5], f: [3, 3, 5, 12], dilations: 2, padding: 'same', bias: true, activation: 'relu' },
  { x: [1, 8, 7, 4], f: [2, 3, 4, 9], padding: [0, 1, 2, 1], activation: 'relu6', bias: true },
  { x: [2, 5, 6, 8], f: [1, 1, 8, 16], bias: true, activation: 'sigmoid' },
  { x: [1, 6, 6, 16], f: [1, 1, 16, 20], strides: 2 },
  { x: [1, 11, 9, 2], f: [5, 5, 2, 3], strides: [2, 1], padding: 'same', dilations: [1, 2] },
  { x: [1, 4, 4, 1], f: [4, 4, 1, 1], padding: 'valid' },
  { x: [3, 5, 5, 20], f: [3, 3, 20, 1], padding: [1, 1, 1, 1], bias: true },
  // NOTE: >= 16384 output pixels select 16 pixels per invocation in the vec4 forward; 16510 is not a multiple of 16.
  { x: [1, 130, 127, 4], f: [3, 3, 4, 12], padding: 'same', bias: true, activation: 'relu6' },
];

export const label = (c: Case) => `x${JSON.stringify(c.x)} f${JSON.stringify(c.f)} s${JSON.stringify(c.strides ?? 1)} p${JSON.stringify(c.padding ?? 'valid')} d${JSON.stringify(c.dilations ?? 1)}${c.bias ? ' +bias' : ''} ${c.activation ?? ''}`;

export function refOpts(c: Case, bias?: ReturnType<typeof ref>): RefConvOptions {
  return { strides: c.strides, padding: c.padding, dilations: c.dilations, activation: c.activation, ...(bias ? { bias } : {}) };
}

export function gpuOpts(c: Case, bias?: g.Tensor): g.Conv2DOptions {
  return { strides: c.strides, padding: c.padding, dilations: c.dilations, activation: c.activation, ...(bias ? { bias } : {}) };
}
