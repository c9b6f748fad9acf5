// The reduce kernel's dispatch (one or two passes) and the broadcast-undoing sum that backward passes share.

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { Tensor } from '../tensor/tensor.js';
import { checkRank, shapesEqual, sizeOf, stridesOf, formatShape } from '../tensor/shape.js';

const WG = 64;
export const ReduceOp = { sum: 0, mean: 1, max: 2, min: 3, argmax: 4, argmin: 5 } as const;
export type ReduceName = keyof typeof ReduceOp;

interface ReduceParams {
  op: number;
  nout: number;
  r: number;
  kshape: number[];
  kstr: number[];
  rshape: number[];
  rstr: number[];
  scale: number;
  /** Partial reductions per output (1: the whole reduction in one invocation). */
  split: number;
  /** Reduced elements per partial. */
  chunk: number;
}

const reduceKernel = defineKernel<ReduceParams>({
  name: 'reduce',
  shader: 'reduce',
  entryPoint: 'reduce',
  inputs: 1,
  outputs: 1,
  constants: (p) => ({ WG, OP: p.op }),
  uniforms: (p) =>
    new Uniforms()
      .u32(p.nout, p.r, p.kshape.length, p.rshape.length)
      .vec4u(p.kshape, 2, 1)
      .vec4u(p.kstr, 2)
      .vec4u(p.rshape, 2, 1)
      .vec4u(p.rstr, 2)
      .f32(p.scale)
      .u32(p.split, p.chunk)
      .f32(1),
  workgroups: (p) => grid(Math.ceil((p.nout * p.split) / WG)),
});

/** Output shape of reducing `shape` over sorted `axes`. */
export function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

/** Runs the reduce kernel without recording. */
export function runReduce(x: Tensor, name: ReduceName, axes: number[], keepDims: boolean): Tensor {
  checkRank(name, x.shape);
  const strides = stridesOf(x.shape);
  const kshape: number[] = [];
  const kstr: number[] = [];
  const rshape: number[] = [];
  const rstr: number[] = [];
  x.shape.forEach((d, i) => {
    if (axes.includes(i)) {
      rshape.push(d);
      rstr.push(strides[i]!);
    } else {
      kshape.push(d);
      kstr.push(strides[i]!);
    }
  });
  const r = sizeOf(rshape);
  const isArg = name === 'argmax' || name === 'argmin';
  if (r === 0 && name !== 'sum') {
    throw new Error(`Graft ${name}: cannot reduce over an empty axis of shape ${formatShape(x.shape)}`);
  }
  const out = new Tensor(x.device, reducedShape(x.shape, axes, keepDims), isArg ? 'int32' : 'float32');
  const scale = r > 0 ? 1 / r : 0;
  const split = isArg ? 1 : splitFor(out.size, r);
  if (split === 1) {
    x.device.run(reduceKernel, [x.buffer], [out.buffer], { op: ReduceOp[name], nout: out.size, r, kshape, kstr, rshape, rstr, scale, split, chunk: r });
    return out;
  }
  // NOTE: two passes: `split` partials per output in parallel, then one reduce of [split, nout] over axis 0 (mean scales there).
  const chunk = Math.ceil(r / split);
  const parts = Math.ceil(r / chunk);
  const partial = new Tensor(x.device, [parts, out.size], 'float32');
  const first = name === 'mean' ? 'sum' : name;
  x.device.run(reduceKernel, [x.buffer], [partial.buffer], { op: ReduceOp[first], nout: out.size, r, kshape, kstr, rshape, rstr, scale, split: parts, chunk });
  x.device.run(reduceKernel, [partial.buffer], [out.buffer], {
    op: ReduceOp[name], nout: out.size, r: parts, kshape: [out.size], kstr: [1], rshape: [parts], rstr: [out.size], scale, split: 1, chunk: parts,
  });
  partial.dispose();
  return out;
}

/** Reductions at least this long are split when outputs are few. */
const SPLIT_MIN_R = 4096;
/** Reduced elements per partial, at least. */
const SPLIT_MIN_CHUNK = 512;
/** Invocations the first pass aims for. */
const SPLIT_TARGET = 8192;

/** Partials per output: 1 unless the reduction is long and the outputs too few to fill the device. */
function splitFor(nout: number, r: number): number {
  if (r < SPLIT_MIN_R || nout === 0) return 1;
  const split = Math.min(Math.ceil(r / SPLIT_MIN_CHUNK), Math.ceil(SPLIT_TARGET / nout));
  return split >= 2 ? split : 1;
}

/** Sums a broadcast gradient back to `shape` (no recording); returns `g` itself when shapes match. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = runReduce(g, 'sum', axes, true);
  // NOTE: the keepDims result has the target's element order; drop the leading axes with a free view.
  const v = new Tensor(s.device, [...shape], 'float32', s);
  s.dispose();
  return v;
}
