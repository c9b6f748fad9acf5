// Batched matmul with a fused bias + activation epilogue; backward as matmuls with transpose flags.

import type { Device } from '../gpu/device.js';
import { defineKernel, grid } from '../gpu/kernel.js';
import { tunedVariant, type TuneJob } from '../gpu/tuner.js';
import { forcedOr, precisionVariant } from '../gpu/variants.js';
import { sumOrderProbe } from './tune-probe.js';
import { Uniforms } from '../gpu/uniforms.js';
import { isGradEnabled } from '../tensor/engine.js';
import { randomUniform, recordOp, Tensor } from '../tensor/tensor.js';
import { broadcastStrides, checkRank, formatShape, shapesEqual, sizeOf } from '../tensor/shape.js';
import { ACTIVATION, type FusedActivation } from './activation.js';
import { checkFloat, checkSameDevice } from './checks.js';
import { mapUnary, unaryGrad } from './elementwise.js';
import { sumToShape } from './reduce.js';
import {
  MATMUL_VARIANTS,
  matmulFamily,
  matmulVariantUnsupported,
  runMatmulVariant,
  type MatmulPlan,
  type MatmulTile,
  type MatmulVariant,
} from './matmul-kernels.js';

export { chooseTile, MATMUL_VARIANTS, type MatmulTile, type MatmulVariant } from './matmul-kernels.js';

/** Epilogue activations: the shared codes of src/ops/activation.ts. */
export const MatmulActivation = ACTIVATION;
export type MatmulActivationName = FusedActivation;

/** Options of `matmul`. */
export interface MatmulOptions {
  /** Read `a` as [..., K, M] (its last two dims swapped). */
  transposeA?: boolean;
  /** Read `b` as [..., N, K] (its last two dims swapped). */
  transposeB?: boolean;
  /** Added to every row of the product: shape [N]. */
  bias?: Tensor;
  /** Applied after the bias, in the same kernel (default 'linear'). */
  activation?: MatmulActivationName;
  /**
   * A prologue scale [G, K] for a 2-D, untransposed a [M, K] with M % G == 0: row r of a is multiplied by row
   * floor(r / (M / G)) of aScale as it is loaded (a squeeze-excite gate per image on a 1x1 conv). Inference only.
   */
  aScale?: Tensor;
  /** A per-column scale [N] applied in the epilogue before the bias (a folded batch norm). Inference only. */
  outScale?: Tensor;
  /** Added after the activation, same shape as the output (a skip connection). Inference only. */
  residual?: Tensor;
}

interface NaiveParams {
  plan: MatmulPlan;
}

const NAIVE_WG = 8;

const naiveKernel = defineKernel<NaiveParams>({
  name: 'matmul_naive',
  shader: 'matmul_naive',
  entryPoint: 'matmul_naive',
  inputs: 2,
  outputs: 1,
  constants: () => ({ WG: NAIVE_WG }),
  uniforms: (p) => new Uniforms().u32(p.plan.m, p.plan.n, p.plan.k, p.plan.sam, p.plan.sak, p.plan.sbk, p.plan.sbn),
  workgroups: (p) => [Math.ceil(p.plan.n / NAIVE_WG), Math.ceil(p.plan.m / NAIVE_WG), 1],
});

interface ActBackwardParams {
  act: number;
  n: number;
}

const ACT_WG = 64;

const actBackwardKernel = defineKernel<ActBackwardParams>({
  name: 'matmul_act_backward',
  shader: 'matmul',
  entryPoint: 'act_backward',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WGX: ACT_WG, ACT: p.act }),
  uniforms: (p) => new Uniforms().u32(p.n),
  workgroups: (p) => grid(Math.ceil(p.n / (ACT_WG * 4))),
});

function describe(a: readonly number[], b: readonly number[], o: MatmulOptions): string {
  const flags = [o.transposeA ? 'transposeA' : '', o.transposeB ? 'transposeB' : ''].filter(Boolean).join(', ');
  return `a ${formatShape(a)} and b ${formatShape(b)}${flags ? ` (${flags})` : ''}`;
}

/** Resolves M, N, K, the broadcast batch and the strides; throws naming the op and both shapes. */
function planMatmul(aShape: readonly number[], bShape: readonly number[], o: MatmulOptions): MatmulPlan {
  if (aShape.length < 2 || bShape.length < 2) {
    throw new Error(`Graft matmul: both inputs need rank >= 2, got ${describe(aShape, bShape, o)}`);
  }
  const ar = aShape.length;
  const br = bShape.length;
  const [m, ka] = o.transposeA ? [aShape[ar - 1]!, aShape[ar - 2]!] : [aShape[ar - 2]!, aShape[ar - 1]!];
  const [kb, n] = o.transposeB ? [bShape[br - 1]!, bShape[br - 2]!] : [bShape[br - 2]!, bShape[br - 1]!];
  if (ka !== kb) {
    throw new Error(`Graft matmul: inner dimensions differ: ${describe(aShape, bShape, o)} give K = ${ka} and ${kb}`);
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batchShape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aBatch[aBatch.length - rank + i] ?? 1;
    const db = bBatch[bBatch.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`Graft matmul: batch dimensions of ${describe(aShape, bShape, o)} cannot be broadcast`);
    }
    batchShape.push(da === 1 ? db : da);
  }
  const outShape = [...batchShape, m, n];
  checkRank('matmul', outShape);
  const k = ka;
  return {
    m,
    n,
    k,
    outShape,
    batchShape,
    astr: broadcastStrides(aBatch, batchShape).map((s) => s * m * k),
    bstr: broadcastStrides(bBatch, batchShape).map((s) => s * k * n),
    sam: o.transposeA ? 1 : k,
    sak: o.transposeA ? m : 1,
    sbk: o.transposeB ? 1 : n,
    sbn: o.transposeB ? k : 1,
  };
}

/**
 * Folds broadcast-free batches into M where that keeps the layout ([B, M, K] x [K, N] is one [B*M, K] x [K, N]):
 * the 2-D fast path, which skips the per-invocation batch decode.
 */
function foldBatch(plan: MatmulPlan, o: MatmulOptions): MatmulPlan {
  const batch = sizeOf(plan.batchShape);
  if (plan.batchShape.length === 0) return plan;
  if (batch === 1) return { ...plan, batchShape: [], astr: [], bstr: [] };
  const aFull = plan.astr.every((s, i) => s !== 0 || plan.batchShape[i] === 1);
  const bNone = plan.bstr.every((s) => s === 0);
  if (!o.transposeA && aFull && bNone) {
    return { ...plan, m: plan.m * batch, batchShape: [], astr: [], bstr: [], sam: plan.k };
  }
  return plan;
}

/**
 * The variant a call runs: forced (tests); under a mixed_float16 layer's 'float16' compute precision the f16 variant
 * when the adapter runs it; else tuned (GRAFT_TUNE=on, measured per adapter and bucket) or 'register'.
 */
function pickVariant(a: Tensor, plan: MatmulPlan): MatmulVariant {
  const device = a.device;
  const runnable = (v: string) => matmulVariantUnsupported(device, v as MatmulVariant, plan) === null;
  const tuned = () => tunedVariant(device, 'matmul', matmulBucket(plan), 'register', () => tuneJob(device, plan));
  return forcedOr(matmulFamily, () => precisionVariant(matmulFamily, runnable, tuned)) as MatmulVariant;
}

const log2up = (v: number) => (v <= 1 ? 0 : Math.ceil(Math.log2(v)));

/** The shape class the tuner keys on: log2 sizes, transposes, batching and vec4 alignment. */
export function matmulBucket(plan: MatmulPlan): string {
  const t = `${plan.sak === 1 ? 'n' : 't'}${plan.sbn === 1 ? 'n' : 't'}`;
  const al = [plan.m, plan.n, plan.k].map((v) => (v % 4 === 0 ? 1 : 0)).join('');
  return `m${log2up(plan.m)}n${log2up(plan.n)}k${log2up(plan.k)}${t}b${plan.batchShape.length > 0 ? 1 : 0}a${al}`;
}

/** A tuning job for one plan: fresh seeded inputs of the plan's sizes; probes compare with the register variant. */
function tuneJob(device: Device, plan: MatmulPlan): TuneJob {
  const batch = sizeOf(plan.batchShape);
  // NOTE: the last batch's offset (sum of stride * (dim - 1), 0 where broadcast) plus one matrix: every element read.
  const extent = (str: number[]) => str.reduce((t, s, i) => t + s * (plan.batchShape[i]! - 1), 0);
  const aSize = extent(plan.astr) + plan.m * plan.k;
  const bSize = extent(plan.bstr) + plan.k * plan.n;
  // NOTE: explicit seeds, so tuning never advances the user's random stream.
  const a = randomUniform([aSize], -1, 1, { seed: 7, device });
  const b = randomUniform([bSize], -1, 1, { seed: 8, device });
  const outs: Tensor[] = [];
  const run = (v: string) => {
    const out = new Tensor(device, [batch * plan.m * plan.n], 'float32');
    runMatmulVariant(device, v as MatmulVariant, plan, { a: a.buffer, b: b.buffer, bias: null, out: out.buffer }, 0);
    return out;
  };
  const candidates = MATMUL_VARIANTS.filter(
    (v) => !matmulFamily.lowPrecision.includes(v) && matmulVariantUnsupported(device, v, plan) === null,
  );
  return {
    candidates,
    run: (v) => outs.push(run(v)),
    probe: sumOrderProbe(run, plan.k),
    dispose: () => {
      for (const t of [a, b, ...outs]) t.dispose();
      outs.length = 0;
    },
  };
}

/** The variant `matmul(a, b, options)` would run now (the bench prints it). */
export function matmulVariant(a: Tensor, b: Tensor, o: MatmulOptions = {}): MatmulVariant {
  return pickVariant(a, foldBatch(planMatmul(a.shape, b.shape, o), o));
}

/**
 * Runs the chosen variant without recording: act(op(a) · op(b) + bias). `tile` forces the register variant with
 * that tile (tests of every tile).
 */
export function matmulRaw(a: Tensor, b: Tensor, o: MatmulOptions = {}, tile?: MatmulTile): Tensor {
  const plan = planMatmul(a.shape, b.shape, o);
  checkOptions(a, b, o, plan.n);
  const out = new Tensor(a.device, plan.outShape, 'float32');
  const folded = foldBatch(plan, o);
  const act = MatmulActivation[o.activation ?? 'linear'];
  const variant = tile ? 'register' : pickVariant(a, folded);
  const scaleRows = o.aScale ? plan.m / o.aScale.shape[0]! : 0;
  const buffers = { a: a.buffer, b: b.buffer, bias: o.bias ? o.bias.buffer : null, out: out.buffer, scale: o.aScale?.buffer ?? null, scaleRows, colScale: o.outScale?.buffer ?? null, residual: o.residual?.buffer ?? null };
  runMatmulVariant(a.device, variant, folded, buffers, act, tile);
  return out;
}

/** The naive kernel (one invocation per output, 2-D only, no epilogue): documentation and benchmark baseline. */
export function matmulNaive(a: Tensor, b: Tensor, o: Pick<MatmulOptions, 'transposeA' | 'transposeB'> = {}): Tensor {
  const plan = planMatmul(a.shape, b.shape, o);
  if (plan.batchShape.length > 0) throw new Error(`Graft matmulNaive: 2-D inputs only, got ${describe(a.shape, b.shape, o)}`);
  const out = new Tensor(a.device, plan.outShape, 'float32');
  a.device.run(naiveKernel, [a.buffer, b.buffer], [out.buffer], { plan });
  return out;
}

/** Checks the activation name and the bias shape against N; throws naming the op and both shapes. */
function checkOptions(a: Tensor, b: Tensor, o: MatmulOptions, n: number): void {
  const act = o.activation ?? 'linear';
  if (!(act in MatmulActivation)) {
    throw new Error(`Graft matmul: unknown activation '${act}' (known: ${Object.keys(MatmulActivation).join(', ')})`);
  }
  if (o.aScale) checkScale(a, b, o);
  if (o.outScale) {
    checkFloat('matmul', o.outScale);
    checkSameDevice('matmul', a, o.outScale);
    if (o.outScale.rank !== 1 || o.outScale.shape[0] !== n) {
      throw new Error(`Graft matmul: outScale ${formatShape(o.outScale.shape)} must have shape [${n}] (N) for ${describe(a.shape, b.shape, o)}`);
    }
  }
  if (o.residual) {
    checkFloat('matmul', o.residual);
    checkSameDevice('matmul', a, o.residual);
    const want = planMatmul(a.shape, b.shape, o).outShape;
    if (!shapesEqual(o.residual.shape, want)) {
      throw new Error(`Graft matmul: residual ${formatShape(o.residual.shape)} must have the output's shape ${formatShape(want)} for ${describe(a.shape, b.shape, o)}`);
    }
  }
  if (!o.bias) return;
  checkFloat('matmul', o.bias);
  checkSameDevice('matmul', a, o.bias);
  if (o.bias.rank !== 1 || o.bias.shape[0] !== n) {
    throw new Error(`Graft matmul: bias ${formatShape(o.bias.shape)} must have shape [${n}] (N) for ${describe(a.shape, b.shape, o)}`);
  }
}

/** Checks the A-scale prologue's operands: 2-D untransposed a [M, K], aScale [G, K] with M % G == 0. */
function checkScale(a: Tensor, b: Tensor, o: MatmulOptions): void {
  const sc = o.aScale!;
  checkFloat('matmul', sc);
  checkSameDevice('matmul', a, sc);
  const [m, k] = [a.shape[0]!, a.shape[1]!];
  if (a.rank !== 2 || o.transposeA || sc.rank !== 2 || sc.shape[1] !== k || sc.shape[0] === 0 || m % sc.shape[0]! !== 0) {
    throw new Error(`Graft matmul: aScale ${formatShape(sc.shape)} needs a 2-D untransposed a [M, K] with M a multiple of its rows and K columns, got ${describe(a.shape, b.shape, o)}`);
  }
}

/** dy * act'(z) from the output y, for activations whose derivative the output determines. */
function actBackward(y: Tensor, dy: Tensor, act: MatmulActivationName): Tensor {
  const out = new Tensor(y.device, y.shape, 'float32');
  y.device.run(actBackwardKernel, [y.buffer, dy.buffer], [out.buffer], { act: MatmulActivation[act], n: y.size });
  return out;
}

/** Sums `g` to `shape` and frees `g` when a new tensor came out. */
function reduceTo(g: Tensor, shape: readonly number[]): Tensor {
  const s = sumToShape(g, shape);
  if (s !== g) g.dispose();
  return s;
}

/** Gradient w.r.t. a, given dZ = d(op(a) · op(b)). */
function gradA(a: Tensor, b: Tensor, dz: Tensor, o: MatmulOptions): Tensor {
  // d op(A) = dZ · op(B)^T; with transposeA, dA = op(B) · dZ^T.
  const raw = o.transposeA
    ? matmulRaw(b, dz, { transposeA: !!o.transposeB, transposeB: true })
    : matmulRaw(dz, b, { transposeB: !o.transposeB });
  return reduceTo(raw, a.shape);
}

/** Gradient w.r.t. b, given dZ. */
function gradB(a: Tensor, b: Tensor, dz: Tensor, o: MatmulOptions): Tensor {
  if (b.rank === 2 && !o.transposeA && a.rank > 2) {
    // NOTE: a shared 2-D b sees every batch row: fold the batch into M ([B*M, K]^T · [B*M, N]) instead of reducing B products.
    const k = a.shape[a.rank - 1]!;
    const n = dz.shape[dz.rank - 1]!;
    const a2 = new Tensor(a.device, [a.size / Math.max(k, 1), k], 'float32', a);
    const dz2 = new Tensor(dz.device, [a2.shape[0]!, n], 'float32', dz);
    const g = o.transposeB ? matmulRaw(dz2, a2, { transposeA: true }) : matmulRaw(a2, dz2, { transposeA: true });
    a2.dispose();
    dz2.dispose();
    return g;
  }
  // d op(B) = op(A)^T · dZ; with transposeB, dB = dZ^T · op(A).
  const raw = o.transposeB
    ? matmulRaw(dz, a, { transposeA: true, transposeB: !!o.transposeA })
    : matmulRaw(a, dz, { transposeA: !o.transposeA });
  return reduceTo(raw, b.shape);
}

/**
 * act(op(a) · op(b) + bias) with op = transpose where asked: a [..., M, K] (or [..., K, M]), b [..., K, N]
 * (or [..., N, K]); batch dims broadcast NumPy-style. Bias and activation are fused into the kernel.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  checkFloat('matmul', a, b);
  checkSameDevice('matmul', a, b);
  const act = options.activation ?? 'linear';
  const bias = options.bias;
  const inputs = bias ? [a, b, bias] : [a, b];
  const scales = [options.aScale, options.outScale, options.residual].filter((t): t is Tensor => t !== undefined);
  const recording = isGradEnabled() && [...inputs, ...scales].some((t) => t.requiresGrad);
  if (recording && scales.length > 0) throw new Error('Graft matmul: aScale, outScale and residual are inference-only (no gradient may be recorded through them)');
  // NOTE: silu's derivative needs the pre-activation; when recording, keep z and apply silu as its own kernel.
  const z = recording && act === 'silu' ? matmulRaw(a, b, { ...options, activation: 'linear' }) : null;
  const out = z ? mapUnary(z, 'silu') : matmulRaw(a, b, options);
  return recordOp(out, inputs, 'matmul', (g, needs) => {
    let dz = g;
    if (z) dz = unaryGrad(z, g, 'silu');
    else if (act !== 'linear') dz = actBackward(out, g, act);
    const ga = needs[0] ? gradA(a, b, dz, options) : null;
    const gb = needs[1] ? gradB(a, b, dz, options) : null;
    const gbias = bias && needs[2] ? sumToShape(dz, bias.shape) : null;
    if (dz !== g && dz !== gbias) dz.dispose();
    z?.dispose();
    return bias ? [ga, gb, gbias] : [ga, gb];
  });
}
