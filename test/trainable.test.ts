// Keras trainable semantics: nesting, the unfreeze-last-N pattern, frozen weights and BN statistics bit-identical
// after fit, a base applied with training: false staying in inference, and trainable changes waiting for compile.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { oneHot, tensor } from '../src/index.js';
import { input, layers, setSeed, type Variable } from '../src/nn/index.js';
import { model, type Model } from '../src/train/index.js';
import { sgd } from '../src/train/optimizers/index.js';
import { randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

function makeBase(): Model {
  const x = input({ shape: [6, 6, 2] });
  let h = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(x);
  h = layers.batchNormalization({ name: 'bn1' }).apply(h);
  h = layers.activation({ activation: 'relu', name: 'act1' }).apply(h);
  h = layers.conv2d({ filters: 4, kernelSize: 3, name: 'c2' }).apply(h);
  h = layers.batchNormalization({ name: 'bn2' }).apply(h);
  h = layers.activation({ activation: 'relu', name: 'act2' }).apply(h);
  return model({ inputs: x, outputs: h, name: 'base' });
}

function makeModel(training?: boolean): { base: Model; full: Model } {
  setSeed(7);
  const base = makeBase();
  const x = input({ shape: [6, 6, 2] });
  const f = base.apply(x, training === undefined ? {} : { training });
  const p = layers.globalAveragePooling2d({ name: 'gap' }).apply(f);
  const o = layers.dense({ units: 3, activation: 'softmax', name: 'head' }).apply(p);
  return { base, full: model({ inputs: x, outputs: o, name: 'full' }) };
}

function data() {
  const x = tensor(randomValues(8 * 6 * 6 * 2, 3), [8, 6, 6, 2]);
  const y = oneHot(tensor([0, 1, 2, 0, 1, 2, 0, 1], [8], { dtype: 'int32' }), 3);
  return { x, y };
}

async function snapshot(vars: Variable[]): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all(vars.map(async (v) => [v.name, await v.read()] as const)));
}

const names = (vs: Variable[]) => vs.map((v) => v.name).sort();

afterEach(() => vi.restoreAllMocks());

describe('trainable flags', () => {
  it('a layer trains only if it and every container above it are trainable', () => {
    const { base, full } = makeModel();
    expect(full.trainableWeights.length).toBe(base.trainableWeights.length + 2);
    base.trainable = false;
    // NOTE: Keras 3 propagates the flag down to every sublayer.
    expect(base.layers.every((l) => !l.trainable)).toBe(true);
    expect(names(full.trainableWeights)).toEqual(['head/bias', 'head/kernel']);
    base.getLayer('c2').trainable = true;
    expect(names(full.trainableWeights)).toEqual(['head/bias', 'head/kernel']);
    expect(full.nonTrainableWeights.length).toBe(full.weights.length - 2);
  });

  it('freeze the base, unfreeze it, then freeze all but the last N layers, as in Keras', () => {
    const { base, full } = makeModel();
    base.trainable = false;
    base.trainable = true;
    for (const l of base.layers.slice(0, -3)) l.trainable = false;
    expect(base.layers.slice(-3).map((l) => l.name)).toEqual(['c2', 'bn2', 'act2']);
    expect(names(full.trainableWeights)).toEqual(['bn2/beta', 'bn2/gamma', 'c2/bias', 'c2/kernel', 'head/bias', 'head/kernel']);
  });
});

describe('fit with frozen parts', () => {
  it('leaves frozen weights and frozen BN statistics bit-identical while the head trains', async () => {
    const { base, full } = makeModel();
    base.trainable = false;
    full.compile({ optimizer: sgd({ learningRate: 0.5 }), loss: 'categoricalCrossentropy' });
    const before = await snapshot(full.weights);
    const { x, y } = data();
    await full.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
    const after = await snapshot(full.weights);
    for (const w of base.weights) expect(after.get(w.name), w.name).toEqual(before.get(w.name));
    expect(after.get('head/kernel')).not.toEqual(before.get('head/kernel'));
  });

  it('a trainable base updates its BN statistics in fit', async () => {
    const { full } = makeModel();
    full.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
    const before = await snapshot(full.weights);
    const { x, y } = data();
    await full.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const after = await snapshot(full.weights);
    expect(after.get('bn1/moving_mean')).not.toEqual(before.get('bn1/moving_mean'));
    expect(after.get('c1/kernel')).not.toEqual(before.get('c1/kernel'));
  });

  it('a base applied with training: false stays in inference when unfrozen: weights train, BN statistics do not', async () => {
    const { base, full } = makeModel(false);
    base.trainable = true;
    full.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
    const before = await snapshot(full.weights);
    const { x, y } = data();
    await full.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const after = await snapshot(full.weights);
    for (const k of ['bn1/moving_mean', 'bn1/moving_variance', 'bn2/moving_mean', 'bn2/moving_variance']) {
      expect(after.get(k), k).toEqual(before.get(k));
    }
    for (const k of ['c1/kernel', 'bn1/gamma', 'c2/kernel']) expect(after.get(k), k).not.toEqual(before.get(k));
  });
});

describe('trainable changes take effect at the next compile', () => {
  it('warns once when fit runs with a stale compile, trains the compiled set, and obeys a recompile', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { base, full } = makeModel();
    full.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
    base.trainable = false;
    const { x, y } = data();
    const k0 = await base.getLayer('c1').weights[0]!.read();
    await full.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    await full.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    expect(warn.mock.calls.filter((c) => /takes effect at the next compile/.test(String(c[0])))).toHaveLength(1);
    const k1 = await base.getLayer('c1').weights[0]!.read();
    expect(k1).not.toEqual(k0);
    full.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
    await full.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    expect(await base.getLayer('c1').weights[0]!.read()).toEqual(k1);
    expect(warn.mock.calls).toHaveLength(1);
  });
});
