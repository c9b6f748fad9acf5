// Reshape: a free view sharing the input's buffer; -1 infers one dimension.

import { recordOp, Tensor } from '../tensor/tensor.js';
import { formatShape, sizeOf } from '../tensor/shape.js';

/** Resolves a target shape with at most one -1 against `size`; throws naming both shapes. */
export function resolveShape(op: string, from: readonly number[], to: readonly number[]): number[] {
  const size = sizeOf(from);
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1 || to.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new Error(`Graft ${op}: invalid target shape ${formatShape(to)} for input ${formatShape(from)}`);
  }
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : size / known) : d));
  if (sizeOf(out) !== size || out.some((d) => !Number.isInteger(d))) {
    throw new Error(`Graft ${op}: cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(to)}`);
  }
  return out;
}

/** The same values in a new shape (a free view of the buffer); one dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const target = resolveShape('reshape', x.shape, shape);
  const out = new Tensor(x.device, target, x.dtype, x);
  return recordOp(out, [x], 'reshape', (g) => [new Tensor(g.device, x.shape, g.dtype, g)]);
}

/** Flattens all but the first dimension: [N, ...] -> [N, prod(...)]. */
export function flatten(x: Tensor): Tensor {
  if (x.rank < 1) throw new Error(`Graft flatten: input must have rank >= 1, got ${formatShape(x.shape)}`);
  return reshape(x, [x.shape[0]!, -1]);
}
