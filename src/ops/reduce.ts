// Reductions over any axes (sum, mean, max, min, argmax, argmin), forward and backward; the kernel is in reduce-kernel.ts.

import { recordOp, Tensor } from '../tensor/tensor.js';
import { normalizeAxes, sizeOf } from '../tensor/shape.js';
import { checkFloat } from './checks.js';
import { mapBinary, mapUnary } from './elementwise.js';
import { reducedShape, runReduce } from './reduce-kernel.js';

export { reducedShape, sumToShape } from './reduce-kernel.js';

/** Options shared by reductions. */
export interface ReduceOptions {
  /** Keep reduced axes as size 1 (default false). */
  keepDims?: boolean;
}

/** Shape of the reduction with keepDims, as a view of `t` (free: shares the buffer). */
function keepDimsView(t: Tensor, shape: readonly number[], axes: readonly number[]): Tensor {
  const keep = reducedShape(shape, axes, true);
  return new Tensor(t.device, keep, t.dtype, t);
}

function sumLike(name: 'sum' | 'mean') {
  return (x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}): Tensor => {
    checkFloat(name, x);
    const ax = normalizeAxes(name, axes, x.shape);
    const out = runReduce(x, name, ax, options.keepDims ?? false);
    return recordOp(out, [x], name, (g) => {
      const gk = keepDimsView(g, x.shape, ax);
      const b = mapBinary(gk, x, 'first');
      gk.dispose();
      if (name === 'sum') return [b];
      const r = sizeOf(x.shape) / Math.max(1, out.size);
      const m = mapUnary(b, 'affine', 1 / r, 0);
      b.dispose();
      return [m];
    });
  };
}

/** Sum over axes (all when omitted). */
export const sum = sumLike('sum');
/** Mean over axes (all when omitted). */
export const mean = sumLike('mean');

function maxLike(name: 'max' | 'min') {
  return (x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}): Tensor => {
    checkFloat(name, x);
    const ax = normalizeAxes(name, axes, x.shape);
    const out = runReduce(x, name, ax, options.keepDims ?? false);
    return recordOp(out, [x], name, (g) => {
      // NOTE: ties share the gradient equally, as TensorFlow and PyTorch do.
      const yk = keepDimsView(out, x.shape, ax);
      const mask = mapBinary(x, yk, 'equal');
      yk.dispose();
      const count = runReduce(mask, 'sum', ax, true);
      const gk = keepDimsView(g, x.shape, ax);
      const share = mapBinary(gk, count, 'div');
      gk.dispose();
      count.dispose();
      const res = mapBinary(mask, share, 'mul');
      mask.dispose();
      share.dispose();
      return [res];
    });
  };
}

/** Maximum over `axes` (all by default); the gradient is shared among tied maxima. */
export const max = maxLike('max');
/** Minimum over `axes` (all by default); the gradient is shared among tied minima. */
export const min = maxLike('min');

/** Index of the max along one axis (int32, no gradient); ties pick the first. */
export function argmax(x: Tensor, axis = -1): Tensor {
  const ax = normalizeAxes('argmax', axis, x.shape);
  return runReduce(x, 'argmax', ax, false);
}

/** Index of the min along one axis (int32, no gradient); ties pick the first. */
export function argmin(x: Tensor, axis = -1): Tensor {
  const ax = normalizeAxes('argmin', axis, x.shape);
  return runReduce(x, 'argmin', ax, false);
}
