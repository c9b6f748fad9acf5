// The fused optimizer kernels (shaders/optimizers.wgsl): one dispatch updates a parameter and its slots in place.
// The Optimizer classes in src/train/optimizers/ own state, config and schedules and call these.

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import type { Tensor } from '../tensor/tensor.js';

const WG = 64;
const groupsFor = (n: number) => grid(Math.ceil(n / (WG * 4)));

/** Global-norm clipping inside an update: the scalar sum of squares of all gradients and the clip norm. */
export interface UpdateClip {
  /** Scalar tensor; null turns clipping off. */
  sumSq: Tensor | null;
  /** The clip norm (ignored when sumSq is null). */
  clip: number;
}

interface AdamParams {
  n: number;
  wdLr: number;
  clip: number;
  alpha: number;
  oneMinusB1: number;
  oneMinusB2: number;
  eps: number;
  clipOn: boolean;
}

const adamKernel = defineKernel<AdamParams>({
  name: 'adam', shader: 'optimizers', entryPoint: 'adam', inputs: 2, outputs: 3,
  constants: (p) => ({ WG, CLIP: p.clipOn ? 1 : 0 }),
  uniforms: (p) => new Uniforms().u32(p.n).f32(p.wdLr, p.clip, p.alpha, p.oneMinusB1, p.oneMinusB2, p.eps),
  workgroups: (p) => groupsFor(p.n),
});

/** Scalars of one Adam update (Keras 3 rule). */
export interface AdamUpdate {
  /** lr · sqrt(1 - beta2^t) / (1 - beta1^t): the bias corrections folded in on the CPU. */
  alpha: number;
  /** lr · weightDecay (decoupled, AdamW); 0 for Adam. */
  wdLr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** One fused Adam step: updates `param`, `m` and `v` in place from `grad`. */
export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, clip: UpdateClip, u: AdamUpdate): void {
  // NOTE: without clipping the sum-of-squares binding is unused; the gradient stands in for it.
  const sq = (clip.sumSq ?? grad).buffer;
  param.device.run(adamKernel, [grad.buffer, sq], [param.buffer, m.buffer, v.buffer], {
    n: param.size, wdLr: u.wdLr, clip: clip.clip, alpha: u.alpha,
    oneMinusB1: 1 - u.beta1, oneMinusB2: 1 - u.beta2, eps: u.epsilon, clipOn: clip.sumSq !== null,
  });
}

interface SgdParams {
  n: number;
  lr: number;
  wdLr: number;
  clip: number;
  momentum: number;
  clipOn: boolean;
  nesterov: boolean;
}

const sgdUniforms = (p: SgdParams) => new Uniforms().u32(p.n).f32(p.lr, p.wdLr, p.clip, p.momentum);

const sgdKernel = defineKernel<SgdParams>({
  name: 'sgd', shader: 'optimizers', entryPoint: 'sgd', inputs: 2, outputs: 1,
  constants: (p) => ({ WG, CLIP: p.clipOn ? 1 : 0 }),
  uniforms: sgdUniforms,
  workgroups: (p) => groupsFor(p.n),
});

const sgdMomentumKernel = defineKernel<SgdParams>({
  name: 'sgd_momentum', shader: 'optimizers', entryPoint: 'sgd_momentum', inputs: 2, outputs: 2,
  constants: (p) => ({ WG, CLIP: p.clipOn ? 1 : 0, NESTEROV: p.nesterov ? 1 : 0 }),
  uniforms: sgdUniforms,
  workgroups: (p) => groupsFor(p.n),
});

/** Scalars of one SGD update (Keras 3 rule). */
export interface SgdUpdate {
  lr: number;
  /** lr · weightDecay (decoupled). */
  wdLr: number;
  /** Momentum factor; 0 means plain SGD and no slot. */
  momentum: number;
  nesterov: boolean;
}

/** One fused SGD step: updates `param` (and the momentum slot when momentum > 0) in place from `grad`. */
export function sgdUpdate(param: Tensor, grad: Tensor, velocity: Tensor | null, clip: UpdateClip, u: SgdUpdate): void {
  const params: SgdParams = {
    n: param.size, lr: u.lr, wdLr: u.wdLr, clip: clip.clip, momentum: u.momentum,
    clipOn: clip.sumSq !== null, nesterov: u.nesterov,
  };
  // NOTE: without clipping the sum-of-squares binding is unused; the gradient stands in for it.
  const sq = (clip.sumSq ?? grad).buffer;
  if (u.momentum === 0) param.device.run(sgdKernel, [grad.buffer, sq], [param.buffer], params);
  else {
    if (!velocity) throw new Error(`Graft sgdUpdate: momentum ${u.momentum} needs a velocity slot`);
    param.device.run(sgdMomentumKernel, [grad.buffer, sq], [param.buffer, velocity.buffer], params);
  }
}

/** Multiplies by clip / max(sqrt(sumSq), clip) (clip.ts's scaleByNorm). */
export const clipScaleKernel = defineKernel<{ n: number; clip: number }>({
  name: 'clip_scale', shader: 'optimizers', entryPoint: 'clip_scale', inputs: 2, outputs: 1,
  constants: () => ({ WG, CLIP: 1 }),
  uniforms: (p) => new Uniforms().u32(p.n).f32(p.clip),
  workgroups: (p) => groupsFor(p.n),
});
