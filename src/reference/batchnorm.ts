// Float64 reference for batch normalization, its fold into a per-channel affine, and the fused affine + activation.

import { refZeros, type RefTensor } from './tensor.js';

/** Per-channel mean and biased variance over every axis but the last (two passes in float64). */
export function channelMomentsRef(x: RefTensor): { mean: RefTensor; variance: RefTensor } {
  const c = x.shape[x.shape.length - 1]!;
  const rows = x.data.length / c;
  const mean = refZeros([c]);
  const variance = refZeros([c]);
  for (let i = 0; i < x.data.length; i++) mean.data[i % c] = mean.data[i % c]! + x.data[i]!;
  for (let k = 0; k < c; k++) mean.data[k] = mean.data[k]! / rows;
  for (let i = 0; i < x.data.length; i++) {
    const d = x.data[i]! - mean.data[i % c]!;
    variance.data[i % c] = variance.data[i % c]! + d * d;
  }
  for (let k = 0; k < c; k++) variance.data[k] = variance.data[k]! / rows;
  return { mean, variance };
}

/** y = gamma * (x - mean) / sqrt(var + eps) + beta, channel = last axis. */
export function normalizeRef(x: RefTensor, mean: RefTensor, variance: RefTensor, gamma: RefTensor | null, beta: RefTensor | null, eps: number): RefTensor {
  const c = x.shape[x.shape.length - 1]!;
  const y = refZeros(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const k = i % c;
    const z = (x.data[i]! - mean.data[k]!) / Math.sqrt(variance.data[k]! + eps);
    y.data[i] = z * (gamma ? gamma.data[k]! : 1) + (beta ? beta.data[k]! : 0);
  }
  return y;
}

/** Training-mode batch normalization with batch statistics, then `activation` (default linear) per element. */
export function batchNormTrainRef(x: RefTensor, gamma: RefTensor | null, beta: RefTensor | null, eps: number, activation?: string) {
  const { mean, variance } = channelMomentsRef(x);
  return { y: activateRef(normalizeRef(x, mean, variance, gamma, beta, eps), activation), mean, variance };
}

/** Inference-mode batch normalization with given (moving) statistics, then `activation` (default linear). */
export function batchNormInferenceRef(
  x: RefTensor, mean: RefTensor, variance: RefTensor, gamma: RefTensor | null, beta: RefTensor | null, eps: number, activation?: string,
): RefTensor {
  return activateRef(normalizeRef(x, mean, variance, gamma, beta, eps), activation);
}

/** `activation` (default linear) applied to every element. */
function activateRef(z: RefTensor, activation: string | undefined): RefTensor {
  const f = activation ? channelActivationRef[activation] : (v: number) => v;
  if (!f) throw new Error(`reference: no activation ${activation}`);
  return { shape: z.shape, data: z.data.map(f) };
}

/** Keras' moving statistic update: moving * momentum + batch * (1 - momentum). */
export function movingUpdateRef(moving: RefTensor, batch: RefTensor, momentum: number): RefTensor {
  return { shape: [...moving.shape], data: moving.data.map((m, i) => m * momentum + batch.data[i]! * (1 - momentum)) };
}

/** scale = gamma / sqrt(var + eps), shift = beta - mean * scale. */
export function foldBatchNormRef(mean: RefTensor, variance: RefTensor, gamma: RefTensor | null, beta: RefTensor | null, eps: number) {
  const c = mean.data.length;
  const scale = refZeros([c]);
  const shift = refZeros([c]);
  for (let k = 0; k < c; k++) {
    scale.data[k] = (gamma ? gamma.data[k]! : 1) / Math.sqrt(variance.data[k]! + eps);
    shift.data[k] = (beta ? beta.data[k]! : 0) - mean.data[k]! * scale.data[k]!;
  }
  return { scale, shift };
}

/** Activations that scaleShift fuses. */
export const channelActivationRef: Record<string, (z: number) => number> = {
  linear: (z) => z,
  relu: (z) => Math.max(z, 0),
  relu6: (z) => Math.min(Math.max(z, 0), 6),
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
  silu: (z) => z / (1 + Math.exp(-z)),
};

/** y = act(x * scale + shift) per channel (last axis). */
export function scaleShiftRef(x: RefTensor, scale: RefTensor, shift: RefTensor, activation?: string): RefTensor {
  const c = x.shape[x.shape.length - 1]!;
  const f = activation ? channelActivationRef[activation] : (z: number) => z;
  if (!f) throw new Error(`reference: no activation ${activation}`);
  const y = refZeros(x.shape);
  for (let i = 0; i < x.data.length; i++) y.data[i] = f(x.data[i]! * scale.data[i % c]! + shift.data[i % c]!);
  return y;
}
