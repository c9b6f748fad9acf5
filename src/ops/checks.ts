// Argument checks shared by ops: every message names the op and the shapes involved.

import type { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';

export function checkFloat(op: string, ...xs: Tensor[]): void {
  for (const x of xs) {
    if (x.dtype !== 'float32') throw new Error(`Graft ${op}: expected a float32 tensor, got ${x.dtype} ${formatShape(x.shape)}`);
  }
}

export function checkRankIs(op: string, x: Tensor, rank: number, what = 'input'): void {
  if (x.rank !== rank) {
    throw new Error(`Graft ${op}: ${what} must have rank ${rank}, got shape ${formatShape(x.shape)}`);
  }
}

export function checkSameDevice(op: string, ...xs: Tensor[]): void {
  const d = xs[0]?.device;
  if (xs.some((x) => x.device !== d)) throw new Error(`Graft ${op}: tensors live on different devices`);
}
