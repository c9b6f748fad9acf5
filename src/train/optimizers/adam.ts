// Adam, Keras 3 update rule, one fused kernel per parameter (src/ops/optimizers.ts; bias corrections folded into alpha here).

import { adamUpdate } from '../../ops/optimizers.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BaseOptimizer, type ClipInput, type OptimizerOptions, type StepScalars } from './optimizer.js';

/** Options of adam (Keras Adam defaults). */
export interface AdamOptions extends OptimizerOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Adam (Keras 3 rule), one fused kernel per parameter. */
export class Adam extends BaseOptimizer {
  readonly className: string = 'Adam';
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;

  constructor(o: AdamOptions = {}, defaultLr = 0.001) {
    super(defaultLr, o);
    this.beta1 = o.beta1 ?? 0.9;
    this.beta2 = o.beta2 ?? 0.999;
    this.epsilon = o.epsilon ?? 1e-7;
    for (const [k, v] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new Error(`Graft ${this.className}: ${k} must be in [0, 1), got ${v}`);
    }
  }

  protected slotNames(): readonly string[] {
    return ['m', 'v'];
  }

  // NOTE: true only while updateOne is this one: a subclass that overrides it may run kernels without the gate.
  protected override updatesHonourGate(): boolean {
    return this.updateOne === Adam.prototype.updateOne;
  }

  protected updateOne(param: Tensor, grad: Tensor, slots: Tensor[], clip: ClipInput, s: StepScalars, gate: Tensor | null): void {
    // NOTE: Keras: alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t), computed in float64 here.
    const alpha = (s.lr * Math.sqrt(1 - Math.pow(this.beta2, s.t))) / (1 - Math.pow(this.beta1, s.t));
    adamUpdate(param, grad, slots[0]!, slots[1]!, clip, { alpha, wdLr: s.wdLr, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon }, gate);
  }

  protected hyperConfig(): Record<string, unknown> {
    return { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

/** Keras Adam: learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7. */
export function adam(o: AdamOptions = {}): Adam {
  return new Adam(o);
}
