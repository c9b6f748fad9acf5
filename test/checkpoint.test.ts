// Checkpoints: weights by layer path with name/shape checks, atomic saves, and model.save/loadModel rebuilding a
// model (nested base, BN, augmentation, trainable flags, compile state) without the code that made it.

import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneHot, tensor } from '../src/index.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { loadModel, model, sequential, type Model } from '../src/train/index.js';
import { adam } from '../src/train/optimizers/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const tmp = () => mkdtempSync(join(tmpdir(), 'graft-ckpt-'));

function build(seed: number, units = 3): Model {
  setSeed(seed);
  const bx = input({ shape: [5, 5, 2] });
  let h = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'stem_conv' }).apply(bx);
  h = layers.batchNormalization({ name: 'stem_bn' }).apply(h);
  h = layers.activation({ activation: 'silu', name: 'stem_act' }).apply(h);
  h = layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'block1a_dwconv' }).apply(h);
  const base = model({ inputs: bx, outputs: h, name: 'base' });
  const x = input({ shape: [5, 5, 2], name: 'image' });
  let y = layers.randomFlip({ mode: 'horizontal', name: 'flip' }).apply(x);
  y = layers.rescaling({ scale: 0.5, name: 'scale' }).apply(y);
  y = base.apply(y, { training: false });
  y = layers.globalAveragePooling2d({ name: 'gap' }).apply(y);
  y = layers.dropout({ rate: 0.2, name: 'drop' }).apply(y);
  y = layers.dense({ units, activation: 'softmax', name: 'head' }).apply(y);
  return model({ inputs: x, outputs: y, name: 'classifier' });
}

const images = () => tensor(randomValues(6 * 5 * 5 * 2, 4), [6, 5, 5, 2]);
const labels = () => oneHot(tensor([0, 1, 2, 0, 1, 2], [6], { dtype: 'int32' }), 3);
const values = async (m: Model, x = images()) => Array.from(await (await m.predict(x)).data());

describe('saveWeights / loadWeights', () => {
  it('writes every weight under its layer path and loads it into a same-architecture model', async () => {
    const path = join(tmp(), 'w.safetensors');
    const a = build(1);
    await a.saveWeights(path);
    const file = await readSafetensors(path);
    expect([...file.tensors.keys()].sort()).toEqual([
      'base/block1a_dwconv/bias', 'base/block1a_dwconv/depthwise_kernel', 'base/stem_bn/beta', 'base/stem_bn/gamma',
      'base/stem_bn/moving_mean', 'base/stem_bn/moving_variance', 'base/stem_conv/bias', 'base/stem_conv/kernel',
      'head/bias', 'head/kernel',
    ]);
    const b = build(2);
    expect(await values(b)).not.toEqual(await values(a));
    await b.loadWeights(path);
    expect(await values(b)).toEqual(await values(a));
  });

  it('names the first mismatching weight: shape, missing, or extra', async () => {
    const path = join(tmp(), 'w.safetensors');
    await build(1).saveWeights(path);
    await expect(build(1, 4).loadWeights(path)).rejects.toThrow(/weight 'head\/kernel' has shape \[4,4\] in model 'classifier' but \[4,3\] in/);
    setSeed(1);
    const small = sequential({ name: 'small', layers: [layers.dense({ units: 3, inputShape: [4], name: 'head' }), layers.dense({ units: 2, name: 'extra' })] });
    await expect(small.loadWeights(path)).rejects.toThrow(/weight 'extra\/kernel' of model 'small' is missing from/);
    const tiny = sequential({ name: 'tiny', layers: [layers.dense({ units: 3, inputShape: [4], name: 'head' })] });
    await expect(tiny.loadWeights(path)).rejects.toThrow(/has weight 'base\/\w+\/\w+', which model 'tiny' does not have/);
  });

  it('a failed save leaves the previous file intact and no temporary files behind', async () => {
    const dir = tmp();
    const path = join(dir, 'w.safetensors');
    const m = build(1);
    await m.saveWeights(path);
    const before = await values(m);
    const w = m.weights[0]!;
    const read = w.read.bind(w);
    w.read = async () => {
      throw new Error('disk on fire');
    };
    await expect(m.saveWeights(path)).rejects.toThrow(/disk on fire/);
    w.read = read;
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
    const other = build(3);
    await other.loadWeights(path);
    expect(await values(other)).toEqual(before);
  });
});

describe('model.save / loadModel', () => {
  it('rebuilds the architecture, weights, trainable flags and compile state from one file', async () => {
    const path = join(tmp(), 'model.safetensors');
    const a = build(1);
    (a.getLayer('base') as Model).trainable = false;
    a.compile({ optimizer: adam({ learningRate: 3e-3 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    await a.fit(images(), labels(), { epochs: 2, batchSize: 3, verbose: 0 });
    await a.save(path);
    const file = await readSafetensors(path);
    expect(file.metadata.format).toBe('graft.model.v1');
    expect([...file.tensors.keys()].filter((k) => k.startsWith('__optimizer__/')).sort()).toEqual([
      '__optimizer__/head/bias/m', '__optimizer__/head/bias/v', '__optimizer__/head/kernel/m', '__optimizer__/head/kernel/v',
    ]);
    const b = await loadModel(path);
    expect(b).not.toBe(a);
    expect(b.layers.map((l) => `${l.name}:${l.className}`)).toEqual(a.layers.map((l) => `${l.name}:${l.className}`));
    expect(b.trainableWeights.map((w) => w.name)).toEqual(['head/kernel', 'head/bias']);
    expect(b.optimizer!.iterations).toBe(4);
    expect(b.optimizer!.getConfig()).toEqual(a.optimizer!.getConfig());
    expect(b.compiled!.metrics.map((m) => m.name)).toEqual(['accuracy']);
    expect(b.epochsDone).toBe(2);
    expect(await values(b)).toEqual(await values(a));
    const ea = await a.evaluate(images(), labels());
    const eb = await b.evaluate(images(), labels());
    expect(eb).toEqual(ea);
  });

  it('rebuilds a sequential model built lazily, and refuses a weights-only file', async () => {
    const dir = tmp();
    setSeed(9);
    const s = sequential([layers.dense({ units: 3, activation: 'relu' }), layers.dense({ units: 2 })]);
    const x = tensor(randomValues(8, 1), [2, 4]);
    const want = Array.from(await (await s.predict(x)).data());
    await s.save(join(dir, 's.safetensors'));
    const r = await loadModel(join(dir, 's.safetensors'));
    expect(r.className).toBe('Sequential');
    expect(Array.from(await (await r.predict(x)).data())).toEqual(want);
    await s.saveWeights(join(dir, 'w.safetensors'));
    await expect(loadModel(join(dir, 'w.safetensors'))).rejects.toThrow(/not a Graft model file.*loadWeights/);
  });
});
