// SGD with optional (Nesterov) momentum, Keras 3 update rule, one fused kernel per parameter.

import { defineKernel, grid } from '../../gpu/kernel.js';
import { Uniforms } from '../../gpu/uniforms.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BaseOptimizer, type ClipInput, type OptimizerOptions, type StepScalars } from './optimizer.js';

const WG = 64;

interface SgdParams {
  n: number;
  lr: number;
  wdLr: number;
  clip: number;
  momentum: number;
  clipOn: boolean;
  nesterov: boolean;
}

const uniforms = (p: SgdParams) => new Uniforms().u32(p.n).f32(p.lr, p.wdLr, p.clip, p.momentum);
const workgroups = (p: SgdParams) => grid(Math.ceil(p.n / (WG * 4)));

const sgdKernel = defineKernel<SgdParams>({
  name: 'sgd', shader: 'optimizers', entryPoint: 'sgd', inputs: 2, outputs: 1,
  constants: (p) => ({ WG, CLIP: p.clipOn ? 1 : 0 }),
  uniforms,
  workgroups,
});

const sgdMomentumKernel = defineKernel<SgdParams>({
  name: 'sgd_momentum', shader: 'optimizers', entryPoint: 'sgd_momentum', inputs: 2, outputs: 2,
  constants: (p) => ({ WG, CLIP: p.clipOn ? 1 : 0, NESTEROV: p.nesterov ? 1 : 0 }),
  uniforms,
  workgroups,
});

/** Options of sgd (Keras SGD defaults). */
export interface SgdOptions extends OptimizerOptions {
  /** Momentum factor in [0, 1); 0 keeps no slot. */
  momentum?: number;
  nesterov?: boolean;
}

export class SGD extends BaseOptimizer {
  readonly className = 'SGD';
  readonly momentum: number;
  readonly nesterov: boolean;

  constructor(o: SgdOptions = {}) {
    super(0.01, o);
    this.momentum = o.momentum ?? 0;
    this.nesterov = o.nesterov ?? false;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`Graft SGD: momentum must be in [0, 1], got ${o.momentum}`);
  }

  protected slotNames(): readonly string[] {
    return this.momentum !== 0 ? ['momentum'] : [];
  }

  protected updateOne(param: Tensor, grad: Tensor, slots: Tensor[], clip: ClipInput, s: StepScalars): void {
    const params: SgdParams = {
      n: param.size, lr: s.lr, wdLr: s.wdLr, clip: clip.clip, momentum: this.momentum,
      clipOn: clip.sumSq !== null, nesterov: this.nesterov,
    };
    // NOTE: without clipping the sum-of-squares binding is unused; the gradient stands in for it.
    const sq = (clip.sumSq ?? grad).buffer;
    if (this.momentum === 0) param.device.run(sgdKernel, [grad.buffer, sq], [param.buffer], params);
    else param.device.run(sgdMomentumKernel, [grad.buffer, sq], [param.buffer, slots[0]!.buffer], params);
  }

  protected hyperConfig(): Record<string, unknown> {
    return { momentum: this.momentum, nesterov: this.nesterov };
  }
}

/** Keras SGD: learningRate 0.01, momentum 0, nesterov false. */
export function sgd(o: SgdOptions = {}): SGD {
  return new SGD(o);
}
