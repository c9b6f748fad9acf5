// The fused optimizer kernels (shaders/optimizers.wgsl): one dispatch updates a parameter and its slots in place,
// or, given a skip gate (a loss-scaled step's flags), writes nothing when the GPU decided to skip the step.
// The Optimizer classes in src/train/optimizers/ own state, config and schedules and call these.

import type { Device } from '../gpu/device.js';
import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import { tunedVariant, type TuneJob } from '../gpu/tuner.js';
import { Uniforms } from '../gpu/uniforms.js';
import { capsOf, type AdapterCaps, forcedOr, forceVariant, registerFamily, unsupportedReason } from '../gpu/variants.js';
import { randomUniform, Tensor } from '../tensor/tensor.js';

/** Workgroup size of every optimizer kernel (the WG override), checked against the adapter's limits. */
const WG = 64;
const groupsFor = (n: number) => grid(Math.ceil(n / (WG * 4)));

/** The optimizer-update variants, the heuristic default first: one vec4 load per slot, or four scalar loads. */
export const OPTIMIZER_VARIANTS = ['vec4', 'scalar'] as const;
export type OptimizerVariant = (typeof OPTIMIZER_VARIANTS)[number];

/** The 'optimizer' family for `forceVariant('optimizer', name)` and the tuner; both variants are float32. */
export const optimizerFamily = registerFamily({ family: 'optimizer', names: OPTIMIZER_VARIANTS, lowPrecision: [] });

/** The refusal for an adapter with `caps` that cannot run `variant` (its WG x 1 workgroups), or null when it can. */
export function optimizerVariantUnsupported(caps: AdapterCaps, variant: OptimizerVariant): string | null {
  const why = unsupportedReason(caps, { workgroup: [WG, 1] });
  return why && `Graft optimizer: variant '${variant}' cannot run on this adapter: ${why}`;
}

type UpdateKind = 'adam' | 'sgd' | 'sgd_momentum';

/** The variant an update of `n` elements runs: forced (tests), tuned (GRAFT_TUNE=on) or the heuristic. */
function pickVariant(device: Device, kind: UpdateKind, n: number): OptimizerVariant {
  // NOTE: heuristic 'vec4': faster than 'scalar' in 7 of 8 same-run rows of bench/optimizer.ts on lavapipe (0.84-1.7x).
  const v = forcedOr(optimizerFamily, () => tunedVariant(device, 'optimizer', optimizerBucket(kind, n), 'vec4', () => tuneJob(device, kind, n))) as OptimizerVariant;
  const why = optimizerVariantUnsupported(capsOf(device), v);
  if (why) throw new Error(why);
  return v;
}

const log2up = (v: number) => (v <= 1 ? 0 : Math.ceil(Math.log2(v)));

/** The shape class the tuner keys on: the update rule, log2 of the length and whether it is a multiple of 4. */
export function optimizerBucket(kind: UpdateKind, n: number): string {
  return `${kind}n${log2up(n)}a${n % 4 === 0 ? 1 : 0}`;
}

/** The variant an Adam or SGD update of `n` elements would run now (the bench prints it). */
export function optimizerVariant(device: Device, kind: UpdateKind, n: number): OptimizerVariant {
  return pickVariant(device, kind, n);
}

/**
 * The skip gate of one update: the loss-scale flags (LossScaleState.flags, src/ops/loss-scale.ts), whose u32 word 1
 * decideLossScale sets when the step is skipped; the kernel then returns before any write. null: no gate.
 */
export type UpdateGate = Tensor | null;

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
  gated: boolean;
}

const adamKernel = (entryPoint: string): Kernel<AdamParams> =>
  defineKernel<AdamParams>({
    name: entryPoint, shader: 'optimizers', entryPoint, inputs: 3, outputs: 3,
    constants: (p) => ({ WG, CLIP: p.clipOn ? 1 : 0, GATE: p.gated ? 1 : 0 }),
    uniforms: (p) => new Uniforms().u32(p.n).f32(p.wdLr, p.clip, p.alpha, p.oneMinusB1, p.oneMinusB2, p.eps),
    workgroups: (p) => groupsFor(p.n),
  });

const adamKernels: Record<OptimizerVariant, Kernel<AdamParams>> = { scalar: adamKernel('adam'), vec4: adamKernel('adam_v4') };

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

/** One fused Adam step: updates `param`, `m` and `v` in place from `grad`, unless `gate` says the step is skipped. */
export function adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, clip: UpdateClip, u: AdamUpdate, gate: UpdateGate = null): void {
  const k = adamKernels[pickVariant(param.device, 'adam', param.size)];
  param.device.run(k, controlInputs(grad, clip, gate), [param.buffer, m.buffer, v.buffer], {
    n: param.size, wdLr: u.wdLr, clip: clip.clip, alpha: u.alpha,
    oneMinusB1: 1 - u.beta1, oneMinusB2: 1 - u.beta2, eps: u.epsilon, clipOn: clip.sumSq !== null, gated: gate !== null,
  });
}

/** The read-only bindings of an update: the gradient, the clip's sum of squares and the skip gate. */
function controlInputs(grad: Tensor, clip: UpdateClip, gate: UpdateGate): GPUBuffer[] {
  // NOTE: without clipping (or a gate) that binding is unused; the gradient stands in for it.
  return [grad.buffer, (clip.sumSq ?? grad).buffer, (gate ?? grad).buffer];
}

interface SgdParams {
  n: number;
  lr: number;
  wdLr: number;
  clip: number;
  momentum: number;
  clipOn: boolean;
  nesterov: boolean;
  gated: boolean;
}

const sgdUniforms = (p: SgdParams) => new Uniforms().u32(p.n).f32(p.lr, p.wdLr, p.clip, p.momentum);

const sgdKernel = (entryPoint: string): Kernel<SgdParams> =>
  defineKernel<SgdParams>({
    name: entryPoint, shader: 'optimizers', entryPoint, inputs: 3, outputs: 1,
    constants: (p) => ({ WG, CLIP: p.clipOn ? 1 : 0, GATE: p.gated ? 1 : 0 }),
    uniforms: sgdUniforms,
    workgroups: (p) => groupsFor(p.n),
  });

const sgdMomentumKernel = (entryPoint: string): Kernel<SgdParams> =>
  defineKernel<SgdParams>({
    name: entryPoint, shader: 'optimizers', entryPoint, inputs: 3, outputs: 2,
    constants: (p) => ({ WG, CLIP: p.clipOn ? 1 : 0, NESTEROV: p.nesterov ? 1 : 0, GATE: p.gated ? 1 : 0 }),
    uniforms: sgdUniforms,
    workgroups: (p) => groupsFor(p.n),
  });

const sgdKernels: Record<OptimizerVariant, Kernel<SgdParams>> = { scalar: sgdKernel('sgd'), vec4: sgdKernel('sgd_v4') };
const sgdMomentumKernels: Record<OptimizerVariant, Kernel<SgdParams>> = {
  scalar: sgdMomentumKernel('sgd_momentum'),
  vec4: sgdMomentumKernel('sgd_momentum_v4'),
};

/** Scalars of one SGD update (Keras 3 rule). */
export interface SgdUpdate {
  lr: number;
  /** lr · weightDecay (decoupled). */
  wdLr: number;
  /** Momentum factor; 0 means plain SGD and no slot. */
  momentum: number;
  nesterov: boolean;
}

/**
 * One fused SGD step: updates `param` (and the momentum slot when momentum > 0) in place from `grad`, unless `gate`
 * says the step is skipped.
 */
export function sgdUpdate(param: Tensor, grad: Tensor, velocity: Tensor | null, clip: UpdateClip, u: SgdUpdate, gate: UpdateGate = null): void {
  const params: SgdParams = {
    n: param.size, lr: u.lr, wdLr: u.wdLr, clip: clip.clip, momentum: u.momentum,
    clipOn: clip.sumSq !== null, nesterov: u.nesterov, gated: gate !== null,
  };
  const inputs = controlInputs(grad, clip, gate);
  if (u.momentum === 0) param.device.run(sgdKernels[pickVariant(param.device, 'sgd', param.size)], inputs, [param.buffer], params);
  else {
    if (!velocity) throw new Error(`Graft sgdUpdate: momentum ${u.momentum} needs a velocity slot`);
    const k = sgdMomentumKernels[pickVariant(param.device, 'sgd_momentum', param.size)];
    param.device.run(k, inputs, [param.buffer, velocity.buffer], params);
  }
}

/** Multiplies by clip / max(sqrt(sumSq), clip) (clip.ts's scaleByNorm). */
export const clipScaleKernel = defineKernel<{ n: number; clip: number }>({
  name: 'clip_scale', shader: 'optimizers', entryPoint: 'clip_scale', inputs: 2, outputs: 1,
  constants: () => ({ WG, CLIP: 1 }),
  uniforms: (p) => new Uniforms().u32(p.n).f32(p.clip),
  workgroups: (p) => groupsFor(p.n),
});

/**
 * A tuning job for one bucket: seeded parameter, gradient and slots of `n` elements (updated in place by the timed
 * runs); a probe runs the scalar and the candidate variant from the same fresh state and compares every slot.
 */
function tuneJob(device: Device, kind: UpdateKind, n: number): TuneJob {
  // NOTE: explicit seeds, so tuning never advances the user's random stream.
  const fresh = (seed: number, lo = -1) => randomUniform([n], lo, 1, { seed, device });
  const state = [fresh(11), fresh(12), fresh(13), fresh(14, 0)];
  const noClip: UpdateClip = { sumSq: null, clip: 0 };
  const step = (v: OptimizerVariant, [p, gr, m, vv]: Tensor[]) => {
    // NOTE: candidates run through the public update functions, forced for this synchronous call only.
    const restore = forceVariant('optimizer', v);
    try {
      if (kind === 'adam') adamUpdate(p!, gr!, m!, vv!, noClip, { alpha: 1e-3, wdLr: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
      else sgdUpdate(p!, gr!, kind === 'sgd' ? null : m!, noClip, { lr: 1e-2, wdLr: 1e-4, momentum: kind === 'sgd' ? 0 : 0.9, nesterov: false });
    } finally {
      restore();
    }
  };
  return {
    candidates: OPTIMIZER_VARIANTS.filter((v) => optimizerVariantUnsupported(capsOf(device), v) === null),
    run: (v) => step(v as OptimizerVariant, state),
    probe: async (v) => {
      const a = [fresh(21), fresh(22), fresh(23), fresh(24, 0)];
      const b = [fresh(21), fresh(22), fresh(23), fresh(24, 0)];
      step('scalar', a);
      step(v as OptimizerVariant, b);
      let ok = true;
      for (const k of [0, 2, 3]) {
        const [w, got] = [(await a[k]!.data()) as Float32Array, (await b[k]!.data()) as Float32Array];
        // NOTE: the same float32 operations in the same order: only contraction (fma) may differ, by an ulp or two.
        for (let i = 0; i < n; i++) if (!(Math.abs(got[i]! - w[i]!) <= 1e-6 * (1 + Math.abs(w[i]!)))) ok = false;
      }
      for (const t of [...a, ...b]) t.dispose();
      return ok;
    },
    dispose: () => {
      for (const t of state) t.dispose();
    },
  };
}
