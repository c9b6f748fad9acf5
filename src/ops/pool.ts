// Pooling over NHWC tensors: global average pooling, 2-D max and average pooling, forward and backward. The 'pool'
// family's variants: global average pooling's reduction (src/ops/pool-reduce.ts) and, for 'workgroup', the tiled
// max/average forward (src/ops/pool-tiled.ts); the backward kernels are shared.

import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import type { TuneJob } from '../gpu/tuner.js';
import { Uniforms } from '../gpu/uniforms.js';
import { forceVariant } from '../gpu/variants.js';
import { isGradEnabled } from '../tensor/engine.js';
import { randomUniform, recordOp, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { checkFloat, checkRankIs } from './checks.js';
import { gapReduce, gapUniforms, type GapParams } from './pool-reduce.js';
import { runTiledPool, tiledPoolRunnable, windowedTiled } from './pool-tiled.js';

const WG = 64;

/** 'valid' (no padding), 'same' (TensorFlow rule: output ceil(in/stride), the odd extra pad at the end), or
 * explicit [top, bottom, left, right]. */
export type PoolPadding = 'valid' | 'same' | readonly [number, number, number, number];

/** Options of maxPool2d and avgPool2d. */
export interface Pool2dOptions {
  /** Window size, [kh, kw] or one number for both. */
  poolSize: number | readonly [number, number];
  /** Steps between windows, [sh, sw] or one number; defaults to poolSize (Keras). */
  strides?: number | readonly [number, number];
  /** Default 'valid'. */
  padding?: PoolPadding;
}

/** Resolved window geometry of a 2-D pooling. */
export interface PoolGeometry {
  /** Window height and width. */
  kh: number;
  kw: number;
  /** Strides. */
  sh: number;
  sw: number;
  /** Padding above, below, left, right. */
  pt: number;
  pb: number;
  pl: number;
  pr: number;
  /** Output height and width. */
  oh: number;
  ow: number;
}

function pair(op: string, what: string, v: number | readonly [number, number]): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`Graft ${op}: ${what} must be positive integers, got ${JSON.stringify(v)}`);
  return p;
}

/** Output size and padding of a 2-D pooling over an NHWC input; throws naming the op and shapes. */
export function poolGeometry(op: string, shape: readonly number[], options: Pool2dOptions): PoolGeometry {
  const [kh, kw] = pair(op, 'poolSize', options.poolSize);
  const [sh, sw] = pair(op, 'strides', options.strides ?? options.poolSize);
  const h = shape[1]!;
  const w = shape[2]!;
  const padding = options.padding ?? 'valid';
  let pt = 0, pb = 0, pl = 0, pr = 0;
  if (padding === 'same') {
    // NOTE: TensorFlow's SAME: the total pad is split with the odd one at the bottom/right.
    const th = Math.max((Math.ceil(h / sh) - 1) * sh + kh - h, 0);
    const tw = Math.max((Math.ceil(w / sw) - 1) * sw + kw - w, 0);
    pt = Math.floor(th / 2);
    pb = th - pt;
    pl = Math.floor(tw / 2);
    pr = tw - pl;
  } else if (padding !== 'valid') {
    if (padding.length !== 4 || !padding.every((p) => Number.isInteger(p) && p >= 0)) {
      throw new Error(`Graft ${op}: padding must be 'valid', 'same' or four non-negative integers, got ${JSON.stringify(padding)}`);
    }
    [pt, pb, pl, pr] = padding;
    if (pt >= kh || pb >= kh || pl >= kw || pr >= kw) {
      throw new Error(`Graft ${op}: padding ${JSON.stringify(padding)} must be smaller than poolSize [${kh},${kw}] (a window would hold only padding)`);
    }
  }
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  if (oh < 1 || ow < 1) {
    throw new Error(`Graft ${op}: input ${formatShape(shape)} is smaller than poolSize [${kh},${kw}] with padding ${JSON.stringify(padding)}`);
  }
  return { kh, kw, sh, sw, pt, pb, pl, pr, oh, ow };
}

interface PoolParams {
  shape: readonly number[];
  g: PoolGeometry;
  /** Invocations: outputs (forward) or inputs (backward), divided by `width`. */
  total: number;
  /** Channels per invocation: 4 for the vec4 kernels (C % 4 == 0), else 1. */
  width: number;
  op?: number;
}

const poolUniforms = (p: PoolParams) => {
  const [n, h, w, c] = p.shape as [number, number, number, number];
  return new Uniforms().u32(n, h, w, c / p.width, p.g.oh, p.g.ow, p.g.kh, p.g.kw, p.g.sh, p.g.sw, p.g.pt, p.g.pl, p.total);
};
const groups = (p: { total: number }) => grid(Math.ceil(p.total / WG));

/** Rows per gap_backward invocation; matches GAP_RB in shaders/pool.wgsl. */
const GAP_RB = 32;

/** A global-pooling kernel in its scalar and vec4 forms (GapParams.c counts lanes of 1 or 4 channels). */
function gapKernels(entry: string) {
  const make = (suffix: string) =>
    defineKernel<GapParams>({
      name: entry + suffix, shader: 'pool', entryPoint: entry + suffix, inputs: 1, outputs: 1,
      constants: () => ({ WG }), uniforms: gapUniforms, workgroups: groups,
    });
  return { scalar: make(''), vec4: make('_v4') };
}

const gapBackward = gapKernels('gap_backward');

/** A windowed-pooling kernel in its scalar and vec4 forms. */
interface PoolKernels {
  scalar: Kernel<PoolParams>;
  vec4: Kernel<PoolParams>;
}

function poolKernels(entry: string, inputs: number, outputs: number, usesOp: boolean): PoolKernels {
  const make = (suffix: string) =>
    defineKernel<PoolParams>({
      name: entry + suffix, shader: 'pool', entryPoint: entry + suffix, inputs, outputs,
      constants: (p): Record<string, number> => (usesOp ? { WG, OP: p.op ?? 0 } : { WG }),
      uniforms: poolUniforms,
      workgroups: groups,
    });
  return { scalar: make(''), vec4: make('_v4') };
}

const poolKernel = poolKernels('pool2d', 1, 1, true);
const maxArgKernel = poolKernels('max_pool_argmax', 1, 2, true);
const maxBackward = poolKernels('max_pool_backward', 2, 1, false);
const avgBackward = poolKernels('avg_pool_backward', 1, 1, false);

/** Runs the vec4 form when C % 4 == 0 (4 channels per invocation, vec4 loads). */
function runPool(x: Tensor, k: PoolKernels, inputs: GPUBuffer[], outputs: GPUBuffer[], g: PoolGeometry, elements: number, op?: number): void {
  const width = x.shape[3]! % 4 === 0 ? 4 : 1;
  const p: PoolParams = { shape: x.shape, g, total: elements / width, width, ...(op === undefined ? {} : { op }) };
  x.device.run(width === 4 ? k.vec4 : k.scalar, inputs, outputs, p);
}

/** The forward of max (op 0, arg-max into `idx` when given) or average (op 1) pooling, with the chosen variant. */
function poolForward(x: Tensor, g: PoolGeometry, op: number, y: Tensor, idx: Tensor | null): void {
  if (windowedTiled(x, g, op, () => windowJob(x, g, op))) runTiledPool(x, g, op, y, idx);
  else if (idx) runPool(x, maxArgKernel, [x.buffer], [y.buffer, idx.buffer], g, y.size, op);
  else runPool(x, poolKernel, [x.buffer], [y.buffer], g, y.size, op);
}

/**
 * A tuning job for one windowed bucket (windowBucket): a seeded input of x's shape; each candidate runs the forward
 * without arg-max; a probe requires the candidate to match 'register' (max exactly, mean to 1e-6).
 */
function windowJob(x: Tensor, g: PoolGeometry, op: number): TuneJob {
  // NOTE: explicit seeds, so tuning never advances the user's random stream.
  const input = randomUniform(x.shape, -1, 1, { seed: 51, device: x.device });
  const [n, , , c] = x.shape as [number, number, number, number];
  const outs: Tensor[] = [];
  const run = (v: string) => {
    const y = new Tensor(x.device, [n, g.oh, g.ow, c], 'float32');
    // NOTE: forced for this synchronous call only, so poolForward takes the candidate's path.
    const restore = forceVariant('pool', v);
    try {
      poolForward(input, g, op, y, null);
    } finally {
      restore();
    }
    return y;
  };
  return {
    candidates: ['register', ...(tiledPoolRunnable(x, g) ? ['workgroup'] : [])],
    run: (v) => outs.push(run(v)),
    probe: async (v) => {
      const [a, b] = [run('register'), run(v)];
      const [want, got] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
      a.dispose();
      b.dispose();
      for (let i = 0; i < want.length; i++) if (!(Math.abs(got[i]! - want[i]!) <= 1e-6)) return false;
      return true;
    },
    dispose: () => {
      for (const t of [input, ...outs]) t.dispose();
      outs.length = 0;
    },
  };
}

/** Options of globalAvgPool. */
export interface GlobalPoolOptions {
  /** Keep the spatial axes as size 1: [N,1,1,C] instead of [N,C]. Default false. */
  keepDims?: boolean;
}

/** Mean over H and W of an NHWC tensor: [N,H,W,C] -> [N,C] (or [N,1,1,C] with keepDims). */
export function globalAvgPool(x: Tensor, options: GlobalPoolOptions = {}): Tensor {
  const op = 'globalAvgPool';
  checkFloat(op, x);
  checkRankIs(op, x, 4);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const hw = h * w;
  if (hw === 0) throw new Error(`Graft ${op}: input ${formatShape(x.shape)} has no spatial elements to average`);
  const d = x.device;
  const y = new Tensor(d, options.keepDims ? [n, 1, 1, c] : [n, c], 'float32');
  const width = c % 4 === 0 ? 4 : 1;
  const lanes = c / width;
  const { r, s } = gapReduce(x, y, n, hw, c);
  return recordOp(y, [x], op, (g) => {
    const dx = new Tensor(d, x.shape, 'float32');
    const total = n * Math.ceil(hw / GAP_RB) * lanes;
    d.run(width === 4 ? gapBackward.vec4 : gapBackward.scalar, [g.buffer], [dx.buffer], { n, hw, c: lanes, r, s, total, scale: 1 / hw });
    return [dx];
  });
}

function checkPoolInput(op: string, x: Tensor, options: Pool2dOptions): PoolGeometry {
  checkFloat(op, x);
  checkRankIs(op, x, 4);
  return poolGeometry(op, x.shape, options);
}

/**
 * Max pooling over NHWC windows; padded positions never win. The gradient goes to the arg-max of each window;
 * on ties the first element in row-major window scan order (top row first, left to right) gets it all.
 */
export function maxPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const op = 'maxPool2d';
  const g = checkPoolInput(op, x, options);
  const [n, , , c] = x.shape as [number, number, number, number];
  const d = x.device;
  const y = new Tensor(d, [n, g.oh, g.ow, c], 'float32');
  if (!(isGradEnabled() && x.requiresGrad)) {
    poolForward(x, g, 0, y, null);
    return y;
  }
  // NOTE: the winner's window position is recorded so the backward needs no recomputation or atomics.
  const idx = new Tensor(d, y.shape, 'int32');
  poolForward(x, g, 0, y, idx);
  return recordOp(y, [x], op, (dy) => {
    const dx = new Tensor(d, x.shape, 'float32');
    runPool(x, maxBackward, [dy.buffer, idx.buffer], [dx.buffer], g, x.size);
    idx.dispose();
    return [dx];
  });
}

/**
 * Average pooling over NHWC windows. Padded positions are excluded from the count (TensorFlow 'SAME' average
 * pooling; ONNX AveragePool with count_include_pad = 0). The gradient is spread evenly over each window's elements.
 */
export function avgPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const op = 'avgPool2d';
  const g = checkPoolInput(op, x, options);
  const [n, , , c] = x.shape as [number, number, number, number];
  const d = x.device;
  const y = new Tensor(d, [n, g.oh, g.ow, c], 'float32');
  poolForward(x, g, 1, y, null);
  return recordOp(y, [x], op, (dy) => {
    const dx = new Tensor(d, x.shape, 'float32');
    runPool(x, avgBackward, [dy.buffer], [dx.buffer], g, x.size);
    return [dx];
  });
}
