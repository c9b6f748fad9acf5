// The small model of the Node/Chromium parity test: conv + BN + depthwise + BN + 1x1 conv + BN + GAP + dense.
// Browser-safe: the same file builds the model in Node and, bundled, in Chromium.

import { Functional, input, layers } from '../../src/nn/index.js';
import { noGrad } from '../../src/tensor/engine.js';
import { rng, tensor } from '../../src/tensor/tensor.js';

/** Input shape without the batch dimension (NHWC). */
export const PARITY_INPUT: readonly [number, number, number] = [12, 12, 3];
/** Images in the parity batch. */
export const PARITY_BATCH = 4;

/** Builds the parity model with fixed layer names (weights are written afterwards by name). */
export function buildParityModel(): Functional {
  const x = input({ shape: [...PARITY_INPUT], name: 'image' });
  let y = layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'stem_conv' }).apply(x);
  y = layers.batchNormalization({ name: 'stem_bn' }).apply(y);
  y = layers.activation({ activation: 'relu6', name: 'stem_relu' }).apply(y);
  y = layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'dw_conv' }).apply(y);
  y = layers.batchNormalization({ name: 'dw_bn' }).apply(y);
  y = layers.activation({ activation: 'relu6', name: 'dw_relu' }).apply(y);
  y = layers.conv2d({ filters: 16, kernelSize: 1, useBias: false, name: 'project_conv' }).apply(y);
  y = layers.batchNormalization({ name: 'project_bn' }).apply(y);
  y = layers.globalAveragePooling2d({ name: 'pool' }).apply(y);
  y = layers.dense({ units: 10, name: 'logits' }).apply(y);
  return new Functional({ inputs: x, outputs: y, name: 'parity' });
}

/** Seeded weight values by variable name; variances are kept positive, as trained BN statistics are. */
export function parityWeights(model: Functional, seed: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [i, w] of model.weights.entries()) {
    const r = rng(seed + i);
    const positive = w.name.endsWith('variance');
    out[w.name] = Array.from({ length: w.value.size }, () => (positive ? 0.5 + r() : 2 * r() - 1));
  }
  return out;
}

/** A seeded input batch in [0, 1), NHWC, PARITY_BATCH images. */
export function parityBatch(seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: PARITY_BATCH * PARITY_INPUT[0] * PARITY_INPUT[1] * PARITY_INPUT[2] }, () => r());
}

/** Writes the weights by name, or throws naming a missing or extra one. */
export function writeParityWeights(model: Functional, weights: Record<string, number[]>): void {
  const names = new Set(Object.keys(weights));
  for (const w of model.weights) {
    const v = weights[w.name];
    if (!v) throw new Error(`parity: no values for weight '${w.name}'`);
    w.write(Float32Array.from(v));
    names.delete(w.name);
  }
  if (names.size > 0) throw new Error(`parity: values for unknown weights ${[...names].join(', ')}`);
}

/** Logits in inference mode (moving statistics) and in training mode (batch statistics), as plain arrays. */
export async function parityLogits(model: Functional, batch: number[]): Promise<{ inference: number[]; training: number[] }> {
  const x = tensor(Float32Array.from(batch), [PARITY_BATCH, ...PARITY_INPUT]);
  // NOTE: inference first: a training-mode call updates the moving statistics that inference reads.
  const [inf, tr] = noGrad(() => [model.apply(x, { training: false }), model.apply(x, { training: true })] as const);
  const out = { inference: Array.from(await inf.data()), training: Array.from(await tr.data()) };
  for (const t of [x, inf, tr]) t.dispose();
  return out;
}
