// Models: sequential() and add(), a model used as a layer inside another (weights by nested path, summary row,
// the same values as running the parts), getLayer, and dispose.

import { describe, expect, it } from 'vitest';
import { memory, tensor } from '../src/index.js';
import { input, layers, setSeed, InputLayer } from '../src/nn/index.js';
import { model, sequential, Sequential, Model } from '../src/train/index.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

function base(): Model {
  const x = input({ shape: [4, 4, 3] });
  const h = layers.conv2d({ filters: 5, kernelSize: 3, name: 'conv' }).apply(x);
  return model({ inputs: x, outputs: layers.batchNormalization({ name: 'bn' }).apply(h), name: 'backbone' });
}

describe('sequential', () => {
  it('builds at once from inputShape, grows with add(), and returns a Sequential Model', () => {
    setSeed(1);
    const s = sequential([layers.dense({ units: 4, inputShape: [3], name: 'a' })]);
    expect(s).toBeInstanceOf(Sequential);
    expect(s).toBeInstanceOf(Model);
    expect(s.graphBuilt).toBe(true);
    s.add(layers.dense({ units: 2, name: 'b' }));
    expect(s.layers.map((l) => l.name)).toEqual(['a', 'b']);
    expect(s.outputs[0]!.shape).toEqual([null, 2]);
    expect(s.sublayers[0]).toBeInstanceOf(InputLayer);
    expect(() => s.add(layers.dense({ units: 1, name: 'a' }))).toThrow(/layer name 'a' is already used/);
  });
});

describe('a model used as a layer', () => {
  it('appears as one layer, prefixes its weight paths, and computes what its parts compute', async () => {
    setSeed(2);
    const b = base();
    const x = input({ shape: [4, 4, 3] });
    const f = b.apply(x, { training: false });
    const out = layers.dense({ units: 2, name: 'head' }).apply(layers.globalAveragePooling2d({ name: 'gap' }).apply(f));
    const m = model({ inputs: x, outputs: out, name: 'outer' });
    expect(m.layers[0]).toBeInstanceOf(InputLayer);
    expect(m.layers.slice(1).map((l) => `${l.name}:${l.className}`)).toEqual(['backbone:Functional', 'gap:GlobalAveragePooling2D', 'head:Dense']);
    expect(m.getLayer('backbone')).toBe(b);
    expect(() => m.getLayer('conv')).toThrow(/no layer named 'conv'/);
    expect([...m.namedWeights().keys()]).toEqual([
      'backbone/conv/kernel', 'backbone/conv/bias', 'backbone/bn/gamma', 'backbone/bn/beta', 'backbone/bn/moving_mean',
      'backbone/bn/moving_variance', 'head/kernel', 'head/bias',
    ]);
    const text = m.summary(() => {});
    expect(text).toMatch(/backbone \(Functional\)\s+\(None, 2, 2, 5\)\s+160/);
    expect(text).toMatch(/Total params: 172/);
    expect(text).toMatch(/Non-trainable params: 10/);
    const xs = tensor(randomValues(2 * 4 * 4 * 3, 3), [2, 4, 4, 3]);
    const parts = m.getLayer('head').apply(m.getLayer('gap').apply(b.apply(xs)));
    expectClose(await m.apply(xs).data(), await parts.data(), { atol: 1e-6 }, 'nested');
    expect(out.shape).toEqual([null, 2]);
  });

  it('dispose frees the weights of the model and its nested models', () => {
    setSeed(3);
    const b = base();
    const x = input({ shape: [4, 4, 3] });
    const m = model({ inputs: x, outputs: layers.dense({ units: 2 }).apply(layers.flatten().apply(b.apply(x))) });
    const before = memory().tensorsLive;
    const n = m.weights.length;
    m.dispose();
    expect(memory().tensorsLive).toBe(before - n);
    expect(b.weights.every((w) => w.value.isDisposed)).toBe(true);
  });
});
