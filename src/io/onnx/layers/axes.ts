// Shape helpers shared by the ONNX-support layers (axes include the batch axis, as in Keras' Softmax/Concatenate).

import type { Layer } from '../../../nn/layer.js';
import { shapeError } from '../../../nn/layer.js';
import type { Shape } from '../../../nn/symbolic.js';

/** A possibly negative axis as an index into a shape of `rank`; throws naming the layer when out of range. */
export function axisIndex(layer: Layer, axis: number, shape: Shape | readonly number[]): number {
  const rank = shape.length;
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw shapeError(layer, `axis ${axis} is out of range`, shape as Shape);
  return a;
}

/** Checks that `perm` is a permutation of 0..n-1. */
export function isPermutation(perm: readonly number[]): boolean {
  return perm.every((p) => Number.isInteger(p) && p >= 0 && p < perm.length) && new Set(perm).size === perm.length;
}
