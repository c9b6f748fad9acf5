// LossScaleOptimizer (Keras keras.mixed_precision.LossScaleOptimizer, dynamic): the loss is multiplied by a scale
// before backward so that small gradients survive f16 tiles, gradients are divided by it before the update, a step
// with any non-finite gradient is skipped and halves the scale, and `dynamicGrowthSteps` finite steps in a row
// double it. Every decision happens on the GPU (src/ops/loss-scale.ts): no step reads anything back.
//
// How a skip is made exact: the update kernels are gated. decideLossScale writes the skip flag (word 1 of the
// state's `flags`) on the GPU, and the inner optimizer's applyGradients hands that buffer to every update kernel
// (shaders/optimizers.wgsl, GATE 1), which returns before writing anything when it is set: weights and slots stay
// bit-identical, with no copy and no extra dispatch per parameter. A zeroed gradient would not do (Adam's momentum
// still moves the weights and decays m and v). The built-in optimizers (SGD with or without momentum, Adam, AdamW,
// with clipping and weight decay) gate; an optimizer that cannot (`gatesSkippedSteps` not true: a user's own
// Optimizer) gets the fallback: its parameters and slots are copied before the step and copied back by a kernel
// (restoreIfSkipped) when the flag is set.
// Porting note: the skip is decided on the GPU, so the CPU-side step count (`iterations`, which schedules and
// Adam's bias correction read) counts skipped steps too; Keras does not count them. Keras 3 also doubles the scale
// before dividing the gradients on a growth step; here gradients are divided by the scale the loss was multiplied by.

import { mul } from '../../ops/elementwise.js';
import { decideLossScale, restoreIfSkipped, unscaleGradients, type LossScaleState } from '../../ops/loss-scale.js';
import { getDevice, keep } from '../../tensor/engine.js';
import { scalar, zeros, type Tensor } from '../../tensor/tensor.js';
import type { Device } from '../../gpu/device.js';
import type { Schedule } from '../schedules.js';
import type { GradientPair, Optimizer, OptimizerState } from './optimizer.js';

/** Options of LossScaleOptimizer (Keras names in camelCase). */
export interface LossScaleOptions {
  /** The first scale (default 2^15). */
  initialScale?: number;
  /** Finite steps in a row after which the scale doubles (default 2000). */
  dynamicGrowthSteps?: number;
}

/** Slot keys of the loss-scale state in getState()/setState() (and so in checkpoints, beside the inner slots). */
export const LOSS_SCALE_SLOTS = { scale: '__loss_scale__/scale', goodSteps: '__loss_scale__/good_steps' } as const;

/** Whether a slot key of a saved optimizer state is loss-scale state (which only a LossScaleOptimizer takes). */
export function isLossScaleSlot(key: string): boolean {
  return key.startsWith('__loss_scale__/');
}

/** Wraps an optimizer with dynamic loss scaling (Keras LossScaleOptimizer); compile() adds it for mixed models. */
export class LossScaleOptimizer implements Optimizer {
  readonly className = 'LossScaleOptimizer';
  /** The optimizer that applies the unscaled gradients. */
  readonly innerOptimizer: Optimizer;
  /** The scale before the first step. */
  readonly initialScale: number;
  /** Finite steps in a row after which the scale doubles. */
  readonly dynamicGrowthSteps: number;
  private state: LossScaleState | null = null;

  constructor(inner: Optimizer, o: LossScaleOptions = {}) {
    if (inner instanceof LossScaleOptimizer) throw new Error('Graft LossScaleOptimizer: the inner optimizer is already a LossScaleOptimizer');
    this.innerOptimizer = inner;
    this.initialScale = o.initialScale ?? 2 ** 15;
    this.dynamicGrowthSteps = o.dynamicGrowthSteps ?? 2000;
    if (!(this.initialScale > 0 && Number.isFinite(this.initialScale))) {
      throw new Error(`Graft LossScaleOptimizer: initialScale must be a finite number > 0, got ${o.initialScale}`);
    }
    if (!(Number.isInteger(this.dynamicGrowthSteps) && this.dynamicGrowthSteps >= 1)) {
      throw new Error(`Graft LossScaleOptimizer: dynamicGrowthSteps must be an integer >= 1, got ${o.dynamicGrowthSteps}`);
    }
  }

  get iterations(): number {
    return this.innerOptimizer.iterations;
  }

  get learningRate(): number | Schedule {
    return this.innerOptimizer.learningRate;
  }

  set learningRate(lr: number | Schedule) {
    this.innerOptimizer.learningRate = lr;
  }

  currentLearningRate(): number {
    return this.innerOptimizer.currentLearningRate();
  }

  /** loss · scale, on the GPU (Keras `scale_loss`): what training calls backward on. */
  scaleLoss(loss: Tensor): Tensor {
    return mul(loss, this.stateOn(loss.device).scale);
  }

  /** The current scale and finite-step count, read back (for logs and tests; training never reads them). */
  async lossScale(): Promise<{ scale: number; goodSteps: number }> {
    const s = this.state ?? this.stateOn(getDevice());
    const [scale, good] = await Promise.all([s.scale.data(), s.goodSteps.data()]);
    return { scale: scale[0]!, goodSteps: good[0]! };
  }

  /**
   * Divides the gradients by the scale (in place), then applies them with the inner optimizer unless one of them
   * is not finite, in which case weights and slots stay as they were; the scale changes as the class doc says.
   * The inner optimizer's kernels skip on the GPU flag when it gates (`gatesSkippedSteps`); any other optimizer is
   * made exact by copying its parameters and slots before the step and restoring them on a skip (the fallback).
   */
  applyGradients(pairs: GradientPair[]): void {
    const live = pairs.filter((p) => p.param.size > 0);
    if (live.length === 0) {
      this.innerOptimizer.applyGradients(pairs);
      return;
    }
    const s = this.stateOn(live[0]!.param.device);
    unscaleGradients(live.map((p) => p.grad), s);
    decideLossScale(s, this.dynamicGrowthSteps);
    if (this.innerOptimizer.gatesSkippedSteps === true) this.innerOptimizer.applyGradients(pairs, s.flags);
    else this.applyRestoringIfSkipped(pairs, live, s);
  }

  /** The fallback for an optimizer that does not gate: snapshot params and slots, step, copy back on a skip. */
  private applyRestoringIfSkipped(pairs: GradientPair[], live: GradientPair[], s: LossScaleState): void {
    // NOTE: slots are created before the snapshot, so a skipped first step leaves them as built (zeros).
    const inner = this.innerOptimizer as Optimizer & { build?: (vars: readonly { param: Tensor; name: string }[]) => void };
    inner.build?.(live);
    const before = inner.getState().slots;
    // NOTE: a parameter and its slots (same size, `${name}/...`) restore in one dispatch; other slots one by one.
    const groups: Tensor[][] = live.map((p) => [p.param]);
    const byName = new Map(live.map((p, i) => [p.name, groups[i]!]));
    for (const [key, t] of Object.entries(before)) {
      const group = byName.get(key.slice(0, key.lastIndexOf('/')));
      if (group && group.length < 3 && group[0]!.size === t.size) group.push(t);
      else groups.push([t]);
    }
    const olds = groups.map((grp) => grp.map((t) => t.detach()));
    try {
      inner.applyGradients(pairs);
      for (const [i, grp] of groups.entries()) restoreIfSkipped(grp, olds[i]!, s);
      // NOTE: slots a custom optimizer created during the step (no build) started at zero.
      for (const [key, t] of Object.entries(inner.getState().slots)) {
        if (key in before) continue;
        const z = zeros(t.shape, { device: t.device });
        restoreIfSkipped([t], [z], s);
        z.dispose();
      }
    } finally {
      for (const o of olds.flat()) o.dispose();
    }
  }

  /** The inner optimizer's state plus the scale and the finite-step count (as scalar slots). */
  getState(): OptimizerState {
    const inner = this.innerOptimizer.getState();
    const s = this.state ?? this.stateOn(getDevice());
    return { iterations: inner.iterations, slots: { ...inner.slots, [LOSS_SCALE_SLOTS.scale]: s.scale, [LOSS_SCALE_SLOTS.goodSteps]: s.goodSteps } };
  }

  /** Restores the inner state and, when present, the scale (a state saved without loss scaling keeps the current). */
  setState(st: OptimizerState): void {
    const own = new Set<string>(Object.values(LOSS_SCALE_SLOTS));
    const unknown = Object.keys(st.slots).find((k) => isLossScaleSlot(k) && !own.has(k));
    if (unknown) throw new Error(`Graft LossScaleOptimizer.setState: unexpected slot '${unknown}' (known: ${[...own].join(', ')})`);
    const rest = Object.fromEntries(Object.entries(st.slots).filter(([k]) => !own.has(k)));
    for (const k of own) {
      const src = st.slots[k];
      if (src && src.size !== 1) throw new Error(`Graft LossScaleOptimizer.setState: '${k}' must hold one value, got ${src.size}`);
    }
    this.innerOptimizer.setState({ iterations: st.iterations, slots: rest });
    const scale = st.slots[LOSS_SCALE_SLOTS.scale];
    const good = st.slots[LOSS_SCALE_SLOTS.goodSteps];
    const s = this.stateOn((scale ?? good)?.device ?? getDevice());
    if (scale) scale.device.copy(scale.buffer, 0, s.scale.buffer, 0, 4);
    if (good) good.device.copy(good.buffer, 0, s.goodSteps.buffer, 0, 4);
  }

  getConfig(): Record<string, unknown> {
    return {
      name: this.className, innerOptimizer: this.innerOptimizer.getConfig(),
      initialScale: this.initialScale, dynamicGrowthSteps: this.dynamicGrowthSteps,
    };
  }

  dispose(): void {
    this.innerOptimizer.dispose?.();
    this.dropState();
  }

  forgetDeviceState(): void {
    this.innerOptimizer.forgetDeviceState?.();
    this.dropState();
  }

  private dropState(): void {
    if (!this.state) return;
    for (const t of [this.state.scale, this.state.goodSteps, this.state.flags]) t.dispose();
    this.state = null;
  }

  private stateOn(device: Device): LossScaleState {
    if (this.state && this.state.scale.device !== device) {
      throw new Error('Graft LossScaleOptimizer: the loss-scale state lives on another device');
    }
    // NOTE: kept out of any tidy scope: the state lives as long as the optimizer.
    this.state ??= {
      scale: keep(scalar(this.initialScale, { device })),
      goodSteps: keep(scalar(0, { device })),
      flags: keep(zeros([2], { device })),
    };
    return this.state;
  }
}

/** Wraps `inner` with dynamic loss scaling (Keras defaults: initial scale 2^15, growth every 2000 finite steps). */
export function lossScaleOptimizer(inner: Optimizer, o: LossScaleOptions = {}): LossScaleOptimizer {
  return new LossScaleOptimizer(inner, o);
}
