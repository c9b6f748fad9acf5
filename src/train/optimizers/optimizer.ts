// The optimizer contract and the shared step logic: learning rate, clipping, slots, state for checkpoints.

import { keep } from '../../tensor/engine.js';
import { Tensor, zeros } from '../../tensor/tensor.js';
import { formatShape, shapesEqual } from '../../tensor/shape.js';
import { checkClipNorm, globalSumOfSquares, sumOfSquares } from '../../ops/clip.js';
import type { UpdateClip } from '../../ops/optimizers.js';
import { markWritten } from '../../nn/variable.js';
import { isSavableSchedule, type Schedule, type ScheduleConfig } from '../schedules.js';

/** A parameter, its gradient, and the stable name that keys its slots (e.g. the weight's layer path). */
export interface GradientPair {
  /** The variable updated in place. */
  param: Tensor;
  /** Its gradient, same shape. */
  grad: Tensor;
  /** Unique name; slots are `${name}/m`, `${name}/v`, `${name}/momentum`. */
  name: string;
}

/** Everything a checkpoint needs to resume an optimizer exactly. */
export interface OptimizerState {
  /** Steps applied so far. */
  iterations: number;
  /** Slot tensors by `${paramName}/${slot}`. */
  slots: Record<string, Tensor>;
}

/** What compile/fit need of an optimizer: Adam, AdamW, SGD, or a custom one. */
export interface Optimizer {
  /** Number of applied steps (applyGradients calls). */
  readonly iterations: number;
  /** A constant rate or a schedule evaluated at `iterations`; may be changed between steps. */
  learningRate: number | Schedule;
  /** The rate the next step will use. */
  currentLearningRate(): number;
  /**
   * One step: updates every param in place with one fused kernel each; no CPU readback. `skip` (only for an
   * optimizer whose `gatesSkippedSteps` is true): a loss-scaled step's flags (LossScaleState.flags); when the GPU
   * has set its u32 word 1, the step writes no parameter and no slot.
   */
  applyGradients(pairs: GradientPair[], skip?: Tensor): void;
  /**
   * Whether applyGradients honours `skip` in every kernel it runs (optional; the built-ins do). LossScaleOptimizer
   * copies and restores the parameters and slots of an optimizer without it.
   */
  readonly gatesSkippedSteps?: boolean;
  /** The live slot tensors (owned by the optimizer: do not dispose) and the step count. */
  getState(): OptimizerState;
  /** Copies values into the slots (creating them when the optimizer has not stepped yet); checks names and shapes. */
  setState(s: OptimizerState): void;
  /** Hyperparameters as plain JSON (saved in checkpoints). */
  getConfig(): Record<string, unknown>;
  /** Frees the slot tensors (optional so that custom optimizers without GPU state need not implement it). */
  dispose?(): void;
  /**
   * Forgets the slot tensors after their device was lost (no GPU call); setState or the next step creates them
   * again on the current device. Optional: fit recovers from a device loss only with optimizers that have it.
   */
  forgetDeviceState?(): void;
  /**
   * The loss that training calls backward on (optional): LossScaleOptimizer multiplies it by its scale and divides
   * the gradients again in applyGradients.
   */
  scaleLoss?(loss: Tensor): Tensor;
}

/** Options shared by every optimizer (Keras names in camelCase). */
export interface OptimizerOptions {
  /** A constant rate or a schedule (default per optimizer: Adam 0.001, SGD 0.01). */
  learningRate?: number | Schedule;
  /** Clip each gradient to this L2 norm (Keras clipnorm). */
  clipNorm?: number;
  /** Clip all gradients together to this global L2 norm (Keras global_clipnorm). */
  globalClipNorm?: number;
  /** Decoupled weight decay: p -= p * weightDecay * lr before the update (Keras 3 weight_decay). */
  weightDecay?: number;
  /** Parameters whose name contains any of these strings get no weight decay (Keras exclude_from_weight_decay). */
  excludeFromWeightDecay?: string[];
}

/** Per-step scalars handed to an optimizer's kernel launch. */
export interface StepScalars {
  /** Learning rate at this step. */
  lr: number;
  /** The 1-based step being applied (Keras' local_step). */
  t: number;
  /** weightDecay * lr, or 0. */
  wdLr: number;
}

/** How a parameter's gradient is to be clipped inside its update kernel. */
/** Clipping inside one update: the sum of squares the clip factor derives from (null: none) and the clip norm. */
export type ClipInput = UpdateClip;

/** Shared state and checks of the built-in optimizers: slots per parameter, schedules, clipping, weight decay. */
export abstract class BaseOptimizer implements Optimizer {
  /** A constant rate or a schedule evaluated at `iterations`; may be changed between steps. */
  learningRate: number | Schedule;
  /** Per-tensor gradient clipping (Keras `clipnorm`), if set. */
  readonly clipNorm: number | undefined;
  /** Clipping by the norm of all gradients together (Keras `global_clipnorm`), if set. */
  readonly globalClipNorm: number | undefined;
  /** Decoupled weight decay: p -= p · weightDecay · lr before each update (0: none). */
  readonly weightDecay: number;
  /** Substrings of weight names that weight decay skips (e.g. biases). */
  readonly excludeFromWeightDecay: readonly string[];
  private steps = 0;
  private readonly slots = new Map<string, Tensor>();

  /** Keras class name, used in getConfig and messages. */
  abstract readonly className: string;
  /** Slot suffixes this optimizer keeps per parameter (e.g. ['m', 'v']). */
  protected abstract slotNames(): readonly string[];
  /**
   * Records the fused update kernel for one parameter; `gate` (null: none) is the skip flag to hand to that kernel
   * (adamUpdate, sgdUpdate), which a subclass honours only if it says so in updatesHonourGate.
   */
  protected abstract updateOne(param: Tensor, grad: Tensor, slots: Tensor[], clip: ClipInput, s: StepScalars, gate: Tensor | null): void;
  /** Optimizer-specific hyperparameters for getConfig. */
  protected abstract hyperConfig(): Record<string, unknown>;

  constructor(defaultLr: number, o: OptimizerOptions) {
    this.learningRate = o.learningRate ?? defaultLr;
    if (o.clipNorm !== undefined && o.globalClipNorm !== undefined) {
      throw new Error('Graft optimizer: set only one of clipNorm and globalClipNorm');
    }
    if (o.clipNorm !== undefined) checkClipNorm('optimizer', o.clipNorm);
    if (o.globalClipNorm !== undefined) checkClipNorm('optimizer', o.globalClipNorm);
    this.clipNorm = o.clipNorm;
    this.globalClipNorm = o.globalClipNorm;
    this.weightDecay = o.weightDecay ?? 0;
    this.excludeFromWeightDecay = [...(o.excludeFromWeightDecay ?? [])];
    if (!(this.weightDecay >= 0)) throw new Error(`Graft optimizer: weightDecay must be >= 0, got ${o.weightDecay}`);
  }

  get iterations(): number {
    return this.steps;
  }

  /** Whether applyGradients takes a `skip` flag (see Optimizer); false for a subclass that runs its own kernels. */
  get gatesSkippedSteps(): boolean {
    return this.updatesHonourGate();
  }

  /** Whether updateOne passes its `gate` to every kernel it runs (default false: LossScaleOptimizer copies instead). */
  protected updatesHonourGate(): boolean {
    return false;
  }

  currentLearningRate(): number {
    const lr = this.learningRate;
    return typeof lr === 'function' ? lr(this.steps) : lr;
  }

  /** Creates the zero slots of these parameters now (Keras optimizer.build); applyGradients does it lazily. */
  build(vars: readonly { param: Tensor; name: string }[]): void {
    for (const { param, name } of vars) this.slotsFor(param, name);
  }

  applyGradients(pairs: GradientPair[], skip?: Tensor): void {
    this.checkPairs(pairs);
    if (skip && !this.gatesSkippedSteps) {
      throw new Error(`Graft ${this.className}.applyGradients: this optimizer's update kernels do not honour a skip flag (gatesSkippedSteps is false)`);
    }
    const gate = skip ?? null;
    const lr = this.currentLearningRate();
    const scalars: StepScalars = { lr, t: this.steps + 1, wdLr: this.weightDecay * lr };
    const live = pairs.filter((p) => p.param.size > 0);
    let global: Tensor | null = null;
    if (this.globalClipNorm !== undefined && live.length > 0) global = globalSumOfSquares(live.map((p) => p.grad));
    for (const { param, grad, name } of live) {
      const slots = this.slotsFor(param, name);
      const decays = !this.excludeFromWeightDecay.some((x) => name.includes(x));
      const s = decays ? scalars : { ...scalars, wdLr: 0 };
      if (global) {
        this.updateOne(param, grad, slots, { sumSq: global, clip: this.globalClipNorm! }, s, gate);
      } else if (this.clipNorm !== undefined) {
        const own = sumOfSquares(grad);
        this.updateOne(param, grad, slots, { sumSq: own, clip: this.clipNorm }, s, gate);
        own.dispose();
      } else {
        this.updateOne(param, grad, slots, { sumSq: null, clip: 0 }, s, gate);
      }
      // NOTE: a param updated in place is a new version of its Variable (folded-weight caches compare versions).
      markWritten(param);
    }
    global?.dispose();
    this.steps++;
  }

  getState(): OptimizerState {
    return { iterations: this.steps, slots: Object.fromEntries(this.slots) };
  }

  setState(s: OptimizerState): void {
    if (!Number.isInteger(s.iterations) || s.iterations < 0) {
      throw new Error(`Graft ${this.className}.setState: iterations must be an integer >= 0, got ${s.iterations}`);
    }
    const suffixes = this.slotNames();
    for (const key of Object.keys(s.slots)) {
      const slash = key.lastIndexOf('/');
      if (slash <= 0 || !suffixes.includes(key.slice(slash + 1))) {
        throw new Error(`Graft ${this.className}.setState: unexpected slot '${key}' (this optimizer keeps ${suffixes.map((x) => `<param>/${x}`).join(', ') || 'no slots'})`);
      }
    }
    if (this.slots.size > 0) {
      const missing = [...this.slots.keys()].filter((k) => !(k in s.slots));
      if (missing.length > 0) throw new Error(`Graft ${this.className}.setState: state lacks slots ${missing.join(', ')}`);
    }
    for (const [key, src] of Object.entries(s.slots)) {
      const own = this.slots.get(key);
      if (own && !shapesEqual(own.shape, src.shape)) {
        throw new Error(`Graft ${this.className}.setState: slot '${key}' has shape ${formatShape(own.shape)}, state has ${formatShape(src.shape)}`);
      }
      if (src.dtype !== 'float32') throw new Error(`Graft ${this.className}.setState: slot '${key}' must be float32, got ${src.dtype}`);
    }
    for (const [key, src] of Object.entries(s.slots)) {
      let own = this.slots.get(key);
      if (!own) {
        own = keep(new Tensor(src.device, src.shape, 'float32'));
        this.slots.set(key, own);
      }
      if (own !== src) src.device.copy(src.buffer, 0, own.buffer, 0, src.size * 4);
    }
    this.steps = s.iterations;
  }

  /** Hyperparameters as plain JSON (class name, learning rate or schedule config, clipping, decay, and the subclass's). */
  getConfig(): Record<string, unknown> {
    const lr = this.learningRate;
    let learningRate: number | ScheduleConfig;
    if (typeof lr === 'number') learningRate = lr;
    else if (isSavableSchedule(lr)) learningRate = lr.getConfig();
    else throw new Error(`Graft ${this.className}.getConfig: the learning-rate schedule has no getConfig, so it cannot be saved`);
    const c: Record<string, unknown> = { name: this.className, learningRate, ...this.hyperConfig(), weightDecay: this.weightDecay };
    if (this.clipNorm !== undefined) c['clipNorm'] = this.clipNorm;
    if (this.globalClipNorm !== undefined) c['globalClipNorm'] = this.globalClipNorm;
    if (this.excludeFromWeightDecay.length > 0) c['excludeFromWeightDecay'] = [...this.excludeFromWeightDecay];
    return c;
  }

  forgetDeviceState(): void {
    // NOTE: dispose only books buffers back into the lost device's pool; the map then starts empty like a new optimizer's.
    this.dispose();
  }

  /** Frees the slot tensors. */
  dispose(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
  }

  private slotsFor(param: Tensor, name: string): Tensor[] {
    return this.slotNames().map((suffix) => {
      const key = `${name}/${suffix}`;
      let t = this.slots.get(key);
      if (!t) {
        // NOTE: kept out of any tidy scope: slots live as long as the optimizer.
        t = keep(zeros(param.shape, { device: param.device }));
        this.slots.set(key, t);
      } else if (!shapesEqual(t.shape, param.shape)) {
        throw new Error(`Graft ${this.className}: slot '${key}' has shape ${formatShape(t.shape)} but parameter '${name}' has ${formatShape(param.shape)}`);
      }
      return t;
    });
  }

  private checkPairs(pairs: readonly GradientPair[]): void {
    const seen = new Set<string>();
    for (const { param, grad, name } of pairs) {
      if (seen.has(name)) throw new Error(`Graft ${this.className}.applyGradients: parameter name '${name}' appears twice`);
      seen.add(name);
      if (!shapesEqual(param.shape, grad.shape)) {
        throw new Error(`Graft ${this.className}.applyGradients: '${name}' has shape ${formatShape(param.shape)} but its gradient has ${formatShape(grad.shape)}`);
      }
      if (param.dtype !== 'float32' || grad.dtype !== 'float32') {
        throw new Error(`Graft ${this.className}.applyGradients: '${name}' and its gradient must be float32, got ${param.dtype} and ${grad.dtype}`);
      }
    }
  }
}
