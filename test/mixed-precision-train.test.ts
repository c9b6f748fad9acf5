// The demo's workflow in small, in float32 and in mixed_float16 from the same seed: the ImageNet-pretrained
// MobileNetV2 from ../shared, frozen (base.apply(x, {training: false})), under a new head trained with fit on real
// Food-101 photos. Under mixed_float16 every layer but the float32 softmax output computes with f16 tiles (the
// pointwise convolutions and the Dense layers through matmul's f16 variant) and compile adds a LossScaleOptimizer.
// The final loss and accuracy must come within a stated tolerance of float32's. Skipped, with the reason printed,
// when the shared photos or weights are absent.

import { afterEach, describe, expect, it } from 'vitest';
import type { Tensor } from '../src/index.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { setGlobalPolicy, type PolicyName } from '../src/nn/mixed-precision.js';
import { mobileNetV2 } from '../src/applications/index.js';
import { model } from '../src/train/model.js';
import { adam, LossScaleOptimizer } from '../src/train/optimizers/index.js';
import { foodImages } from './helpers/food-images.js';
import { useDevice } from './helpers/gpu.js';
import { sharedPath, sharedSkipReason } from './helpers/shared.js';

useDevice();

afterEach(() => setGlobalPolicy('float32'));

const SIZE = 64;
const CLASSES = 3;
const PER_CLASS = 10;
const EPOCHS = 5;
const FOOD = sharedPath('data', 'food10', 'train');
const WEIGHTS = sharedPath('weights', 'mobilenet_v2_1.0_224.onnx');
const skip = sharedSkipReason('mixed-precision-train.test', FOOD, WEIGHTS);

/** Frozen base + GAP + Dense(32, relu) + Dense(3, softmax, float32), trained with fit; the final logs. */
async function train(policy: PolicyName, x: Tensor, y: Tensor): Promise<{ loss: number[]; accuracy: number; wrapped: boolean; scale: string }> {
  setGlobalPolicy(policy);
  const base = mobileNetV2({ weights: WEIGHTS, includeTop: false, inputShape: [SIZE, SIZE, 3] });
  base.trainable = false;
  setSeed(11);
  const inp = input({ shape: [SIZE, SIZE, 3] });
  let h = base.apply(inp, { training: false });
  h = layers.globalAveragePooling2d().apply(h);
  h = layers.dense({ units: 32, activation: 'relu' }).apply(h);
  // NOTE: as Keras recommends, the softmax output stays float32 under a mixed global policy.
  const out = layers.dense({ units: CLASSES, activation: 'softmax', dtype: 'float32' }).apply(h);
  const m = model({ inputs: inp, outputs: out });
  m.compile({ optimizer: adam({ learningRate: 0.003 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  setSeed(12);
  const hist = await m.fit(x, y, { epochs: EPOCHS, batchSize: 10, verbose: 0 });
  const final = await m.evaluate(x, y);
  const opt = m.optimizer;
  const wrapped = opt instanceof LossScaleOptimizer;
  const scale = wrapped ? JSON.stringify(await opt.lossScale()) : 'none';
  m.dispose();
  return { loss: [...hist.history.loss!, final.loss!], accuracy: final.accuracy!, wrapped, scale };
}

describe('mixed_float16 training of the demo workflow in small', () => {
  it.skipIf(skip !== null)('a frozen pretrained base + head on food photos: mixed_float16 ends within tolerance of float32', async () => {
    const { x, y } = await foodImages(FOOD, SIZE, CLASSES, PER_CLASS);
    const t0 = performance.now();
    const f = await train('float32', x, y);
    const t1 = performance.now();
    const mx = await train('mixed_float16', x, y);
    const t2 = performance.now();
    const fmt = (r: { loss: number[]; accuracy: number; scale: string }) => `loss ${r.loss.map((v) => v.toFixed(3)).join(' ')}, accuracy ${r.accuracy.toFixed(3)}, loss scale ${r.scale}`;
    console.log(`float32: ${fmt(f)} (${((t1 - t0) / 1000).toFixed(1)} s)\nmixed_float16: ${fmt(mx)} (${((t2 - t1) / 1000).toFixed(1)} s)`);
    expect(f.wrapped).toBe(false);
    expect(mx.wrapped).toBe(true);
    // The mixed run took the f16 kernels: its losses are not float32's bit for bit.
    expect(mx.loss).not.toEqual(f.loss);
    // Both learn: the final evaluated loss is well below the first epoch's.
    expect(f.loss.at(-1)!).toBeLessThan(f.loss[0]! * 0.7);
    expect(mx.loss.at(-1)!).toBeLessThan(mx.loss[0]! * 0.7);
    // Stated tolerance: f16 tiles perturb each activation by ~2^-9 relative, so the runs drift apart a little over
    // the steps; the final loss within 0.05 + 10 % of float32's, accuracy within 0.1 (3 of 30 images).
    expect(Math.abs(mx.loss.at(-1)! - f.loss.at(-1)!)).toBeLessThanOrEqual(0.05 + 0.1 * f.loss.at(-1)!);
    expect(Math.abs(mx.accuracy - f.accuracy)).toBeLessThanOrEqual(0.1);
    x.dispose();
    y.dispose();
  }, 120_000);
});
