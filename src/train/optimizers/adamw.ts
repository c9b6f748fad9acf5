// AdamW (Keras 3): Adam with decoupled weight decay p -= p * weightDecay * lr before each Adam step.

import { Adam, type AdamOptions } from './adam.js';

/** AdamW: Adam with decoupled weight decay (Keras default 0.004). */
export class AdamW extends Adam {
  override readonly className: string = 'AdamW';

  constructor(o: AdamOptions = {}) {
    super({ ...o, weightDecay: o.weightDecay ?? 0.004 });
  }
}

/** Keras AdamW: Adam's defaults and weightDecay 0.004. */
export function adamw(o: AdamOptions = {}): AdamW {
  return new AdamW(o);
}
