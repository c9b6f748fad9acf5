// Dynamic loss scaling kernels (shaders/loss_scale.wgsl): unscale gradients and flag non-finite ones, update the
// scale and pick skip-or-apply, all on the GPU so that no step reads anything back. The skip flag (flags word 1) is
// also the gate the built-in optimizers' update kernels read; restoreIfSkipped undoes the update of an optimizer
// that cannot gate (LossScaleOptimizer's copy-and-restore fallback).
// LossScaleOptimizer (src/train/optimizers/loss-scale.ts) owns the state tensors and calls these.

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import type { Tensor } from '../tensor/tensor.js';

const WG = 64;
const groupsFor = (n: number) => grid(Math.ceil(n / (WG * 4)));

const unscaleKernel = defineKernel<{ n: number }>({
  name: 'loss_scale_unscale', shader: 'loss_scale', entryPoint: 'unscale', inputs: 1, outputs: 2,
  constants: () => ({ WG }),
  uniforms: (p) => new Uniforms().u32(p.n),
  workgroups: (p) => groupsFor(p.n),
});

/** Gradients one unscale6 dispatch takes: with the scale and the flags, the 8 storage buffers every adapter has. */
const UNSCALE_GROUP = 6;

const unscale6Kernel = defineKernel<{ ns: readonly number[] }>({
  name: 'loss_scale_unscale6', shader: 'loss_scale', entryPoint: 'unscale6', inputs: 1, outputs: 1 + UNSCALE_GROUP,
  constants: () => ({ WG }),
  uniforms: (p) => new Uniforms().u32(...p.ns),
  workgroups: (p) => groupsFor(Math.max(...p.ns)),
});

const decideKernel = defineKernel<{ growth: number }>({
  name: 'loss_scale_decide', shader: 'loss_scale', entryPoint: 'decide', inputs: 0, outputs: 3,
  constants: () => ({}),
  uniforms: (p) => new Uniforms().f32(p.growth),
  workgroups: () => [1, 1, 1],
});

const restoreKernels = (['restore', 'restore2', 'restore3'] as const).map((entryPoint, i) => defineKernel<{ n: number }>({
  name: `loss_scale_${entryPoint}`, shader: 'loss_scale', entryPoint, inputs: i + 2, outputs: i + 1,
  constants: () => ({ WG }),
  uniforms: (p) => new Uniforms().u32(p.n),
  workgroups: (p) => groupsFor(p.n),
}));

/** The GPU state of dynamic loss scaling: the scale, the count of finite steps since the last change, two flags. */
export interface LossScaleState {
  /** Scalar float32: the factor the loss is multiplied by. */
  scale: Tensor;
  /** Scalar float32: consecutive finite steps since the scale last changed. */
  goodSteps: Tensor;
  /** Two u32 words (a 2-element tensor's buffer): [non-finite seen this step, skip this step (the update gate)]. */
  flags: Tensor;
}

/** Divides `grad` by the scale in place and raises the non-finite flag when any element is NaN or infinite. */
export function unscaleGradient(grad: Tensor, s: LossScaleState): void {
  grad.device.run(unscaleKernel, [s.scale.buffer], [grad.buffer, s.flags.buffer], { n: grad.size });
}

/**
 * unscaleGradient for every gradient, six per dispatch (a step's unscaling costs about N / 6 dispatches, not N).
 * The gradients must not share buffers (a group that would is unscaled one by one).
 */
export function unscaleGradients(grads: readonly Tensor[], s: LossScaleState): void {
  // NOTE: sorted by length, so that the six of a dispatch (sized by the longest) are alike.
  const order = [...grads].sort((a, b) => a.size - b.size);
  let i = 0;
  for (; i + UNSCALE_GROUP <= order.length; i += UNSCALE_GROUP) {
    const group = order.slice(i, i + UNSCALE_GROUP);
    // NOTE: WebGPU refuses two writable bindings of one buffer in a dispatch.
    if (new Set(group.map((t) => t.buffer)).size < UNSCALE_GROUP) {
      for (const grad of group) unscaleGradient(grad, s);
      continue;
    }
    s.scale.device.run(unscale6Kernel, [s.scale.buffer], [s.flags.buffer, ...group.map((t) => t.buffer)], { ns: group.map((t) => t.size) });
  }
  for (; i < order.length; i++) unscaleGradient(order[i]!, s);
}

/**
 * After every gradient went through unscaleGradient (or unscaleGradients): on a non-finite flag halves the scale,
 * resets the count and sets the skip flag; else counts the step and doubles the scale after `growthSteps` finite
 * steps in a row.
 */
export function decideLossScale(s: LossScaleState, growthSteps: number): void {
  s.scale.device.run(decideKernel, [], [s.scale.buffer, s.goodSteps.buffer, s.flags.buffer], { growth: growthSteps });
}

/**
 * Copies each `olds[i]` back into `curs[i]` when this step's skip flag is set (undoing the update of a skipped
 * step); one dispatch per three tensors of the same size (a parameter and its slots). Only for optimizers whose
 * kernels do not read the gate themselves (a user's own Optimizer).
 */
export function restoreIfSkipped(curs: readonly Tensor[], olds: readonly Tensor[], s: LossScaleState): void {
  if (curs.length !== olds.length) throw new Error(`Graft restoreIfSkipped: ${curs.length} tensors but ${olds.length} copies`);
  for (let i = 0; i < curs.length; i += 3) {
    const cur = curs.slice(i, i + 3);
    const old = olds.slice(i, i + 3);
    const n = cur[0]!.size;
    const bad = cur.findIndex((t, k) => t.size !== n || old[k]!.size !== n);
    if (bad >= 0) throw new Error(`Graft restoreIfSkipped: tensors restored together need one size, got ${n} and ${cur[bad]!.size}`);
    const kernel = restoreKernels[cur.length - 1]!;
    cur[0]!.device.run(kernel, [...old.map((t) => t.buffer), s.flags.buffer], cur.map((t) => t.buffer), { n });
  }
}
