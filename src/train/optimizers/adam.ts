// Adam, Keras 3 update rule, one fused kernel per parameter (bias corrections folded into alpha on the CPU).

import { defineKernel, grid } from '../../gpu/kernel.js';
import { Uniforms } from '../../gpu/uniforms.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BaseOptimizer, type ClipInput, type OptimizerOptions, type StepScalars } from './optimizer.js';

const WG = 64;

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
  workgroups: (p) => grid(Math.ceil(p.n / (WG * 4))),
});

/** Options of adam (Keras Adam defaults). */
export interface AdamOptions extends OptimizerOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

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

  protected updateOne(param: Tensor, grad: Tensor, slots: Tensor[], clip: ClipInput, s: StepScalars): void {
    // NOTE: Keras: alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t), computed in float64 here.
    const alpha = (s.lr * Math.sqrt(1 - Math.pow(this.beta2, s.t))) / (1 - Math.pow(this.beta1, s.t));
    const sq = (clip.sumSq ?? grad).buffer;
    param.device.run(adamKernel, [grad.buffer, sq], [param.buffer, slots[0]!.buffer, slots[1]!.buffer], {
      n: param.size, wdLr: s.wdLr, clip: clip.clip, alpha,
      oneMinusB1: 1 - this.beta1, oneMinusB2: 1 - this.beta2, eps: this.epsilon, clipOn: clip.sumSq !== null,
    });
  }

  protected hyperConfig(): Record<string, unknown> {
    return { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

/** Keras Adam: learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7. */
export function adam(o: AdamOptions = {}): Adam {
  return new Adam(o);
}
