// Batch normalization (training and inference), its fold into a per-channel affine, and that fused affine op.
// The last axis is the channel axis (NHWC, or [N, C]); statistics run over every other axis. The per-channel
// reductions' first stage has variants (src/ops/batchnorm-reduce.ts); inference mode and the per-element kernels do not.

import type { Device } from '../gpu/device.js';
import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { recordOp, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { gradPartials, statsPartials, type ChunkPlan } from './batchnorm-reduce.js';
import { checkFloat } from './checks.js';
import { ACTIVATION_CODE, type ConvActivation } from './conv-geometry.js';

const WG = 64;

/** Activations that scaleShift can fuse (the conv epilogue's set); codes from src/ops/activation.ts. */
export type ChannelActivation = ConvActivation;
const ACT: Record<ChannelActivation, number> = ACTIVATION_CODE;

const chunkUniforms = (p: ChunkPlan) => new Uniforms().u32(p.m, p.c, p.r, p.s);
const channelGroups = (p: { c: number }) => grid(Math.ceil(p.c / WG));

/** Rows per invocation of the per-element kernels: per-channel values are loaded once per block. */
const ROW_BLOCK = 32;

interface ElemParams {
  /** Rows (elements / C). */
  m: number;
  c: number;
  eps: number;
  /** Rows reduced, as a float (batch-norm backward); 0 elsewhere. */
  count: number;
  mode?: number;
  act?: number;
  hasGamma?: boolean;
  hasBeta?: boolean;
}

/** A per-element kernel in its scalar form and its vec4 form (used when C % 4 == 0). */
interface ElemKernels {
  scalar: Kernel<ElemParams>;
  vec4: Kernel<ElemParams>;
}

function elemKernels(entry: string, inputs: number, constants: (p: ElemParams) => Record<string, number>): ElemKernels {
  const make = (shader: string, width: number) =>
    defineKernel<ElemParams>({
      name: `${shader}:${entry}`, shader, entryPoint: entry, inputs, outputs: 1, constants,
      uniforms: (p) => new Uniforms().u32(p.m, p.c / width, ROW_BLOCK).f32(p.eps, p.count),
      workgroups: (p) => grid(Math.ceil((Math.ceil(p.m / ROW_BLOCK) * (p.c / width)) / WG)),
    });
  return { scalar: make('batchnorm', 1), vec4: make('batchnorm_v4', 4) };
}

/** Runs the vec4 form when the channels allow it: on lavapipe it is about twice as fast. */
function runElem(d: Device, k: ElemKernels, inputs: GPUBuffer[], output: GPUBuffer, p: ElemParams): void {
  d.run(p.c % 4 === 0 ? k.vec4 : k.scalar, inputs, [output], p);
}

interface ChannelParams {
  c: number;
  s: number;
  eps: number;
  momentum: number;
  mode?: number;
  hasGamma?: boolean;
  hasBeta?: boolean;
  scaleB?: boolean;
}
const channelUniforms = (p: ChannelParams) => new Uniforms().u32(p.c, p.s).f32(p.eps, p.momentum);

const statsFinalize = defineKernel<ChunkPlan>({
  name: 'bn_stats_finalize', shader: 'batchnorm', entryPoint: 'bn_stats_finalize', inputs: 1, outputs: 4,
  constants: () => ({ WG }), uniforms: chunkUniforms, workgroups: channelGroups,
});

interface FinalizeActParams extends ChunkPlan {
  eps: number;
  hasGamma: boolean;
  hasBeta: boolean;
}

const statsFinalizeAct = defineKernel<FinalizeActParams>({
  name: 'bn_stats_finalize_act', shader: 'batchnorm', entryPoint: 'bn_stats_finalize_act', inputs: 3, outputs: 5,
  constants: (p) => ({ WG, HAS_GAMMA: p.hasGamma ? 1 : 0, HAS_BETA: p.hasBeta ? 1 : 0 }),
  uniforms: (p) => new Uniforms().u32(p.m, p.c, p.r, p.s).f32(p.eps), workgroups: channelGroups,
});

const applyKernel = elemKernels('bn_apply', 5, (p) => ({ WG, ACT: p.act ?? 0, HAS_GAMMA: p.hasGamma ? 1 : 0, HAS_BETA: p.hasBeta ? 1 : 0 }));

const gradFinalize = defineKernel<ChannelParams>({
  name: 'channel_grad_finalize', shader: 'batchnorm', entryPoint: 'channel_grad_finalize', inputs: 2, outputs: 2,
  constants: (p) => ({ WG, SCALE_B: p.scaleB ? 1 : 0 }), uniforms: channelUniforms, workgroups: channelGroups,
});

const bnBackwardDx = elemKernels('bn_backward_dx', 7, (p) => ({ WG, ACT: p.act ?? 0, HAS_GAMMA: p.hasGamma ? 1 : 0 }));

const channelScaleDx = elemKernels('channel_scale_dx', 5, (p) => ({ WG, MODE: p.mode ?? 0, ACT: p.act ?? 0, HAS_GAMMA: p.hasGamma ? 1 : 0 }));

const scaleShiftKernel = elemKernels('scale_shift', 3, (p) => ({ WG, ACT: p.act ?? 0 }));

const foldKernel = defineKernel<ChannelParams>({
  name: 'bn_fold', shader: 'batchnorm', entryPoint: 'bn_fold', inputs: 4, outputs: 2,
  constants: (p) => ({ WG, HAS_GAMMA: p.hasGamma ? 1 : 0, HAS_BETA: p.hasBeta ? 1 : 0 }),
  uniforms: channelUniforms, workgroups: channelGroups,
});

const packKernel = defineKernel<ChannelParams>({
  name: 'bn_pack', shader: 'batchnorm', entryPoint: 'bn_pack', inputs: 3, outputs: 1,
  constants: (p) => ({ WG, HAS_GAMMA: p.hasGamma ? 1 : 0, HAS_BETA: p.hasBeta ? 1 : 0 }),
  uniforms: channelUniforms, workgroups: channelGroups,
});

const foldBackward = defineKernel<ChannelParams>({
  name: 'bn_fold_backward', shader: 'batchnorm', entryPoint: 'bn_fold_backward', inputs: 3, outputs: 1,
  constants: (p) => ({ WG, MODE: p.mode ?? 0 }), uniforms: channelUniforms, workgroups: channelGroups,
});

const movingKernel = defineKernel<ChannelParams>({
  name: 'moving_update', shader: 'batchnorm', entryPoint: 'moving_update', inputs: 1, outputs: 1,
  constants: () => ({ WG }), uniforms: channelUniforms, workgroups: channelGroups,
});

/** Channels of x (its last axis); throws naming the op when x is not float32 or has no channel axis. */
function channelsOf(op: string, x: Tensor): number {
  checkFloat(op, x);
  if (x.rank < 1) throw new Error(`Graft ${op}: input ${formatShape(x.shape)} has no channel axis`);
  return x.shape[x.rank - 1]!;
}

/** Checks that a per-channel parameter is a float32 [C] vector; the message names the op and both shapes. */
function checkChannelParam(op: string, x: Tensor, c: number, p: Tensor | null, what: string): void {
  if (!p) return;
  checkFloat(op, p);
  if (p.rank !== 1 || p.shape[0] !== c) {
    throw new Error(`Graft ${op}: input ${formatShape(x.shape)} has ${c} channels, ${what} has shape ${formatShape(p.shape)}`);
  }
}

function checkRows(op: string, x: Tensor, c: number): number {
  const m = c === 0 ? 0 : x.size / c;
  if (m === 0) throw new Error(`Graft ${op}: input ${formatShape(x.shape)} has no elements to normalize over`);
  return m;
}

/** Per-channel sums of the two gradient terms (see channel_grad_partial); returns [sumA, sumB]. */
function channelGradSums(
  dy: Tensor, x: Tensor, p0: Tensor, p1: Tensor, mode: number, act: number, scaleBy: Tensor | null, eps: number,
): [Tensor, Tensor] {
  const c = x.shape[x.rank - 1]!;
  const d = x.device;
  const { part, plan } = gradPartials(dy, x, p0, p1, mode, act);
  const sa = new Tensor(d, [c], 'float32');
  const sb = new Tensor(d, [c], 'float32');
  d.run(gradFinalize, [part.buffer, (scaleBy ?? p0).buffer], [sa.buffer, sb.buffer], {
    c, s: plan.s, eps, momentum: 0, scaleB: scaleBy !== null,
  });
  part.dispose();
  return [sa, sb];
}

/** What batchNormTrain returns. */
export interface BatchNormTrainResult {
  /** The normalized output (records autograd through the batch statistics). */
  y: Tensor;
  /** Batch mean per channel, [C]; detached (no gradient). */
  mean: Tensor;
  /** Biased batch variance per channel, [C]; detached (no gradient). */
  variance: Tensor;
}

/** The activation code of `activation` (default linear); throws naming the op for an unknown one. */
function activationCode(op: string, activation: ChannelActivation | undefined): number {
  const act = ACT[activation ?? 'linear'];
  if (act === undefined) throw new Error(`Graft ${op}: unknown activation '${String(activation)}'`);
  return act;
}

/**
 * Training-mode batch normalization: y = act(gamma * (x - mean) / sqrt(var + epsilon) + beta) with the batch mean
 * and biased batch variance over every axis but the last, and `activation` (default 'linear') applied in the same
 * pass. The backward goes through the batch statistics and the activation (recomputed from x, so the
 * pre-activation is never stored). The returned mean/variance may be disposed at once: the backward keeps its own.
 */
export function batchNormTrain(
  x: Tensor, gamma: Tensor | null, beta: Tensor | null, epsilon = 1e-3, activation?: ChannelActivation,
): BatchNormTrainResult {
  const op = 'batchNormTrain';
  const c = channelsOf(op, x);
  checkChannelParam(op, x, c, gamma, 'gamma');
  checkChannelParam(op, x, c, beta, 'beta');
  const act = activationCode(op, activation);
  const m = checkRows(op, x, c);
  const d = x.device;
  const { part, plan } = statsPartials(x, m, c);
  const mean = new Tensor(d, [c], 'float32');
  const variance = new Tensor(d, [c], 'float32');
  // NOTE: the finalize pass writes the statistics twice so that the backward owns a copy the caller cannot dispose.
  const savedMean = new Tensor(d, [c], 'float32');
  const savedVar = new Tensor(d, [c], 'float32');
  // NOTE: with an activation the backward also needs [scale | beta] to recompute z; the finalize writes it too.
  const packed = act === 0 ? null : new Tensor(d, [2 * c], 'float32');
  const stats = [mean.buffer, variance.buffer, savedMean.buffer, savedVar.buffer];
  if (packed) {
    d.run(statsFinalizeAct, [part.buffer, (gamma ?? part).buffer, (beta ?? part).buffer], [...stats, packed.buffer], {
      ...plan, eps: epsilon, hasGamma: gamma !== null, hasBeta: beta !== null,
    });
  } else {
    d.run(statsFinalize, [part.buffer], stats, plan);
  }
  part.dispose();
  const y = new Tensor(d, x.shape, 'float32');
  const ep: ElemParams = { m, c, eps: epsilon, count: m, act, hasGamma: gamma !== null, hasBeta: beta !== null };
  // NOTE: absent gamma/beta bind x's buffer as a placeholder; HAS_GAMMA/HAS_BETA keep the kernel from reading it.
  runElem(d, applyKernel, [x.buffer, savedMean.buffer, savedVar.buffer, (gamma ?? x).buffer, (beta ?? x).buffer], y.buffer, ep);
  const saved = [savedMean, savedVar, ...(packed ? [packed] : [])];
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const recorded = recordOp(y, inputs, op, (g, needs) => {
    const [dbeta, dgamma] = packed
      ? channelGradSums(g, x, savedMean, packed, 2, act, savedVar, epsilon)
      : channelGradSums(g, x, savedMean, savedVar, 0, 0, savedVar, epsilon);
    let dx: Tensor | null = null;
    if (needs[0]) {
      dx = new Tensor(d, x.shape, 'float32');
      runElem(d, bnBackwardDx, [g.buffer, x.buffer, savedMean.buffer, savedVar.buffer, (packed ?? gamma ?? x).buffer, dbeta.buffer, dgamma.buffer], dx.buffer, ep);
    }
    for (const t of saved) t.dispose();
    return paramGrads(dx, gamma, beta, needs, dgamma, dbeta);
  });
  if (!recorded.node) for (const t of saved) t.dispose();
  return { y: recorded, mean, variance };
}

/** Orders [dx, dgamma?, dbeta?] like the recorded inputs, disposing the sums nobody asked for. */
function paramGrads(dx: Tensor | null, gamma: Tensor | null, beta: Tensor | null, needs: readonly boolean[], dgamma: Tensor, dbeta: Tensor): (Tensor | null)[] {
  const out: (Tensor | null)[] = [dx];
  let k = 1;
  if (gamma) out.push(needs[k++] ? dgamma : null);
  if (!gamma || !needs[k - 1]) dgamma.dispose();
  if (beta) out.push(needs[k++] ? dbeta : null);
  if (!beta || !needs[k - 1]) dbeta.dispose();
  return out;
}

/**
 * Inference-mode batch normalization with the moving statistics (treated as constants), then `activation` (default
 * 'linear') in the same pass. The backward is the per-channel scale dx = g * act'(z) * gamma / sqrt(var + eps), with
 * dgamma and dbeta for frozen-statistics fine-tuning (the pre-activation z is recomputed from x, never stored).
 */
export function batchNormInference(
  x: Tensor, movingMean: Tensor, movingVar: Tensor, gamma: Tensor | null, beta: Tensor | null, epsilon = 1e-3, activation?: ChannelActivation,
): Tensor {
  const op = 'batchNormInference';
  const c = channelsOf(op, x);
  checkChannelParam(op, x, c, movingMean, 'movingMean');
  checkChannelParam(op, x, c, movingVar, 'movingVar');
  checkChannelParam(op, x, c, gamma, 'gamma');
  checkChannelParam(op, x, c, beta, 'beta');
  const act = activationCode(op, activation);
  const d = x.device;
  const y = new Tensor(d, x.shape, 'float32');
  const ep: ElemParams = { m: c === 0 ? 0 : x.size / c, c, eps: epsilon, count: 0, act, hasGamma: gamma !== null, hasBeta: beta !== null };
  runElem(d, applyKernel, [x.buffer, movingMean.buffer, movingVar.buffer, (gamma ?? x).buffer, (beta ?? x).buffer], y.buffer, ep);
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  return recordOp(y, inputs, op, (g, needs) => {
    // NOTE: with an activation, [scale | beta] lets the backward recompute z (MODE 2 of the dx and sum kernels).
    let packed: Tensor | null = null;
    if (act !== 0) {
      packed = new Tensor(d, [2 * c], 'float32');
      const cp: ChannelParams = { c, s: 0, eps: epsilon, momentum: 0, hasGamma: gamma !== null, hasBeta: beta !== null };
      d.run(packKernel, [movingVar.buffer, (gamma ?? movingVar).buffer, (beta ?? movingVar).buffer], [packed.buffer], cp);
    }
    let dx: Tensor | null = null;
    if (needs[0]) {
      dx = new Tensor(d, x.shape, 'float32');
      const [p0, p1] = packed ? [movingMean, packed] : [movingMean, movingVar];
      runElem(d, channelScaleDx, [g.buffer, x.buffer, p0.buffer, p1.buffer, (gamma ?? x).buffer], dx.buffer, { ...ep, mode: packed ? 2 : 0 });
    }
    if (!needs.slice(1).some(Boolean)) {
      packed?.dispose();
      return [dx, ...inputs.slice(1).map(() => null)];
    }
    const [dbeta, dgamma] = packed
      ? channelGradSums(g, x, movingMean, packed, 2, act, movingVar, epsilon)
      : channelGradSums(g, x, movingMean, movingVar, 0, 0, movingVar, epsilon);
    packed?.dispose();
    return paramGrads(dx, gamma, beta, needs, dgamma, dbeta);
  });
}

/**
 * In place on the GPU: moving = moving * momentum + batchStat * (1 - momentum) (Keras' update).
 * Porting note: Keras 3 updates moving_variance with the biased batch variance (ops.moments), as we do; tf.keras 2's
 * fused kernel used the Bessel-corrected one.
 */
export function updateMovingStats(moving: Tensor, batchStat: Tensor, momentum = 0.99): void {
  checkFloat('updateMovingStats', moving, batchStat);
  if (moving.rank !== 1 || batchStat.rank !== 1 || moving.size !== batchStat.size) {
    throw new Error(`Graft updateMovingStats: moving statistic ${formatShape(moving.shape)} and batch statistic ${formatShape(batchStat.shape)} must be equal [C] vectors`);
  }
  moving.device.run(movingKernel, [batchStat.buffer], [moving.buffer], { c: moving.size, s: 0, eps: 0, momentum });
}

/** Per-channel affine that equals inference batch normalization: y = x * scale + shift. */
export interface FoldedBatchNorm {
  /** gamma / sqrt(movingVar + epsilon), [C]. */
  scale: Tensor;
  /** beta - movingMean * scale, [C]. */
  shift: Tensor;
}

/**
 * Folds inference batch normalization into a per-channel scale and shift (for conv epilogues and scaleShift).
 * Gradients flow to gamma and beta; the moving statistics are constants.
 */
export function foldBatchNorm(movingMean: Tensor, movingVar: Tensor, gamma: Tensor | null, beta: Tensor | null, epsilon = 1e-3): FoldedBatchNorm {
  const op = 'foldBatchNorm';
  checkFloat(op, movingMean);
  if (movingMean.rank !== 1) throw new Error(`Graft ${op}: movingMean must be a [C] vector, got ${formatShape(movingMean.shape)}`);
  const c = movingMean.size;
  checkChannelParam(op, movingMean, c, movingVar, 'movingVar');
  checkChannelParam(op, movingMean, c, gamma, 'gamma');
  checkChannelParam(op, movingMean, c, beta, 'beta');
  const d = movingMean.device;
  const scale = new Tensor(d, [c], 'float32');
  const shift = new Tensor(d, [c], 'float32');
  const cp: ChannelParams = { c, s: 0, eps: epsilon, momentum: 0, hasGamma: gamma !== null, hasBeta: beta !== null };
  d.run(foldKernel, [movingMean.buffer, movingVar.buffer, (gamma ?? movingMean).buffer, (beta ?? movingMean).buffer], [scale.buffer, shift.buffer], cp);
  const throughGamma = (g: Tensor, mode: number): Tensor => {
    const out = new Tensor(d, [c], 'float32');
    d.run(foldBackward, [g.buffer, movingMean.buffer, movingVar.buffer], [out.buffer], { ...cp, mode });
    return out;
  };
  const scaleOut = gamma ? recordOp(scale, [gamma], `${op}.scale`, (g) => [throughGamma(g, 0)]) : scale;
  const shiftInputs = [...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const shiftOut = recordOp(shift, shiftInputs, `${op}.shift`, (g, needs) => {
    const out: (Tensor | null)[] = [];
    if (gamma) out.push(needs[0] ? throughGamma(g, 1) : null);
    if (beta) out.push(needs[out.length] ? g : null);
    return out;
  });
  return { scale: scaleOut, shift: shiftOut };
}

/** y = activation(x * scale + shift) per channel (last axis, default 'linear'); the fused form of inference batch norm. */
export function scaleShift(x: Tensor, scale: Tensor, shift: Tensor, activation?: ChannelActivation): Tensor {
  const op = 'scaleShift';
  const c = channelsOf(op, x);
  checkChannelParam(op, x, c, scale, 'scale');
  checkChannelParam(op, x, c, shift, 'shift');
  const act = activationCode(op, activation);
  const d = x.device;
  const y = new Tensor(d, x.shape, 'float32');
  const ep: ElemParams = { m: c === 0 ? 0 : x.size / c, c, eps: 0, count: 0, act, mode: 1 };
  runElem(d, scaleShiftKernel, [x.buffer, scale.buffer, shift.buffer], y.buffer, ep);
  return recordOp(y, [x, scale, shift], op, (g, needs) => {
    let dx: Tensor | null = null;
    if (needs[0]) {
      dx = new Tensor(d, x.shape, 'float32');
      runElem(d, channelScaleDx, [g.buffer, x.buffer, scale.buffer, shift.buffer, x.buffer], dx.buffer, ep);
    }
    if (!needs[1] && !needs[2]) return [dx, null, null];
    const [dshift, dscale] = channelGradSums(g, x, scale, shift, 1, act, null, 0);
    if (!needs[1]) dscale.dispose();
    if (!needs[2]) dshift.dispose();
    return [dx, needs[1] ? dscale : null, needs[2] ? dshift : null];
  });
}
