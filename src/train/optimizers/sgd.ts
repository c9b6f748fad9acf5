// SGD with optional (Nesterov) momentum, Keras 3 update rule, one fused kernel per parameter (src/ops/optimizers.ts).

import { sgdUpdate } from '../../ops/optimizers.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BaseOptimizer, type ClipInput, type OptimizerOptions, type StepScalars } from './optimizer.js';

/** Options of sgd (Keras SGD defaults). */
export interface SgdOptions extends OptimizerOptions {
  /** Momentum factor in [0, 1); 0 keeps no slot. */
  momentum?: number;
  nesterov?: boolean;
}

/** SGD with optional (Nesterov) momentum (Keras 3 rule), one fused kernel per parameter. */
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

  // NOTE: true only while updateOne is this one: a subclass that overrides it may run kernels without the gate.
  protected override updatesHonourGate(): boolean {
    return this.updateOne === SGD.prototype.updateOne;
  }

  protected updateOne(param: Tensor, grad: Tensor, slots: Tensor[], clip: ClipInput, s: StepScalars, gate: Tensor | null): void {
    sgdUpdate(param, grad, slots[0] ?? null, clip, { lr: s.lr, wdLr: s.wdLr, momentum: this.momentum, nesterov: this.nesterov }, gate);
  }

  protected hyperConfig(): Record<string, unknown> {
    return { momentum: this.momentum, nesterov: this.nesterov };
  }
}

/** Keras SGD: learningRate 0.01, momentum 0, nesterov false. */
export function sgd(o: SgdOptions = {}): SGD {
  return new SGD(o);
}
