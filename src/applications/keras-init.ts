// Keras' EfficientNet initializers (VarianceScaling), written into built layers from the seeded stream.
// Porting note: Graft's initializer names have no VarianceScaling, so the applications draw these values on the CPU
// and write them over the layers' placeholder ('zeros') kernels.

import { boxMuller, rng } from '../tensor/random.js';
import { fans } from '../nn/initializers.js';
import { nextSeed } from '../nn/random.js';

/** Keras VarianceScaling with mode 'fan_out'. */
export interface VarianceScaling {
  /** Variance scale (2.0 for EfficientNet convs, 1/3 for its dense head). */
  scale: number;
  /** 'truncated_normal' (cut at two standard deviations) or 'uniform'. */
  distribution: 'truncated_normal' | 'uniform';
}

/** EfficientNet's CONV_KERNEL_INITIALIZER. */
export const CONV_KERNEL_INIT: VarianceScaling = { scale: 2, distribution: 'truncated_normal' };
/** EfficientNet's DENSE_KERNEL_INITIALIZER. */
export const DENSE_KERNEL_INIT: VarianceScaling = { scale: 1 / 3, distribution: 'uniform' };

// NOTE: the standard deviation of a unit normal truncated to [-2, 2]; Keras divides by it to keep the variance.
const TRUNCATED_STD = 0.87962566103423978;

/** Values for a kernel of `shape` (Keras fans: receptive field times channels) drawn from the seeded stream. */
export function varianceScaling(shape: readonly number[], init: VarianceScaling): Float32Array {
  const fanOut = Math.max(1, fans(shape)[1]);
  const variance = init.scale / fanOut;
  const r = rng(nextSeed());
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (init.distribution === 'uniform') {
    const limit = Math.sqrt(3 * variance);
    for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * limit;
    return out;
  }
  const std = Math.sqrt(variance) / TRUNCATED_STD;
  for (let i = 0; i < n; i++) {
    let z: number;
    // NOTE: rejection sampling of a unit normal until it falls inside two standard deviations.
    do z = boxMuller(1 - r(), r())[0];
    while (Math.abs(z) > 2);
    out[i] = z * std;
  }
  return out;
}
