// Softmax and log-softmax along any axis, forward and backward as fused row kernels (shaders/softmax.wgsl).

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { recordOp, Tensor } from '../tensor/tensor.js';
import { formatShape, sizeOf } from '../tensor/shape.js';
import { checkFloat } from './checks.js';

/** Workgroup size of the row kernels (one invocation per row). */
export const ROW_WG = 64;

/** Row geometry of a softmax along one axis. */
export interface RowParams {
  /** Number of rows (product of all other dims). */
  rows: number;
  /** Row length (the axis extent). */
  len: number;
  /** Stride between row elements (product of the dims after the axis; 1 for the last axis). */
  inner: number;
}

interface SoftmaxParams extends RowParams {
  op: 0 | 1;
}

const rowUniforms = (p: RowParams) => new Uniforms().u32(p.rows, p.len, p.inner);

const softmaxFwdKernel = defineKernel<SoftmaxParams>({
  name: 'softmax_fwd',
  shader: 'softmax',
  entryPoint: 'softmax_fwd',
  inputs: 1,
  outputs: 1,
  constants: (p) => ({ WG: ROW_WG, OP: p.op }),
  uniforms: rowUniforms,
  workgroups: (p) => grid(Math.ceil(p.rows / ROW_WG)),
});

const softmaxBwdKernel = defineKernel<SoftmaxParams>({
  name: 'softmax_bwd',
  shader: 'softmax',
  entryPoint: 'softmax_bwd',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WG: ROW_WG, OP: p.op }),
  uniforms: rowUniforms,
  workgroups: (p) => grid(Math.ceil(p.rows / ROW_WG)),
});

/** Normalizes `axis` and returns the row geometry; throws naming the op and the shape. */
export function rowsAlong(op: string, shape: readonly number[], axis: number): RowParams {
  const rank = shape.length;
  if (rank === 0 || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`Graft ${op}: axis ${axis} is out of range for shape ${formatShape(shape)}`);
  }
  const ax = axis < 0 ? axis + rank : axis;
  const len = shape[ax]!;
  const inner = sizeOf(shape.slice(ax + 1));
  return { rows: sizeOf(shape.slice(0, ax)) * inner, len, inner: Math.max(inner, 1) };
}

/** Runs softmax (op 0) or log-softmax (op 1) without recording. */
export function rawSoftmax(x: Tensor, rows: RowParams, op: 0 | 1): Tensor {
  const out = new Tensor(x.device, x.shape, 'float32');
  x.device.run(softmaxFwdKernel, [x.buffer], [out.buffer], { ...rows, op });
  return out;
}

function softmaxLike(name: 'softmax' | 'logSoftmax', op: 0 | 1) {
  return (x: Tensor, axis = -1): Tensor => {
    checkFloat(name, x);
    const rows = rowsAlong(name, x.shape, axis);
    const out = rawSoftmax(x, rows, op);
    return recordOp(out, [x], name, (g) => {
      const dx = new Tensor(g.device, x.shape, 'float32');
      g.device.run(softmaxBwdKernel, [out.buffer, g.buffer], [dx.buffer], { ...rows, op });
      return [dx];
    });
  };
}

/** exp(x - max) / sum(exp(x - max)) along `axis` (default last). */
export const softmax = softmaxLike('softmax', 0);
/** x - max - log(sum(exp(x - max))) along `axis` (default last). */
export const logSoftmax = softmaxLike('logSoftmax', 1);
