// Layers: forward values against plain loops, shape inference against eager shapes, graph building rules,
// BatchNormalization modes, dropout and augmentation only in training, config round trips.

import { describe, expect, it } from 'vitest';
import { add as addOp, conv2d as conv2dOp, relu, tensor, type Tensor } from '../src/index.js';
import { Functional, input, layers, setSeed, BatchNormalization, type Layer } from '../src/nn/index.js';
import { deserializeLayer } from '../src/nn/registry.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const rand = (shape: number[], seed: number, lo = -1, hi = 1) => tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);
const read = async (t: Tensor) => Array.from(await t.data());

describe('Dense', () => {
  it('computes relu(x W + b) like plain loops, with weights named layer/kernel', async () => {
    setSeed(3);
    const d = layers.dense({ units: 3, activation: 'relu', biasInitializer: 'ones', name: 'fc' });
    const x = rand([4, 5], 1);
    const y = d.apply(x);
    expect(d.weights.map((w) => w.name)).toEqual(['fc/kernel', 'fc/bias']);
    const w = await d.kernel!.read();
    const xv = await read(x);
    const want: number[] = [];
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 1;
        for (let k = 0; k < 5; k++) s += xv[i * 5 + k]! * w[k * 3 + j]!;
        want.push(Math.max(0, s));
      }
    }
    expect([...y.shape]).toEqual([4, 3]);
    expectClose(await y.data(), want, {}, 'dense');
  });

  it('names the layer and the shapes when the input does not fit', () => {
    const d = layers.dense({ units: 2, name: 'head' });
    d.apply(rand([1, 4], 2));
    expect(() => d.apply(rand([1, 3], 2))).toThrow(/Dense 'head'.*expects last dimension 4.*\[1,3\]/);
  });

  it('applies to rank-3 inputs over the last axis', async () => {
    const d = layers.dense({ units: 2 });
    const y = d.apply(rand([2, 3, 4], 5));
    expect([...y.shape]).toEqual([2, 3, 2]);
  });
});

describe('shape inference matches eager shapes', () => {
  const cases: [string, () => Layer, number[]][] = [
    ['conv2d same stride 2', () => layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }), [2, 7, 7, 3]],
    ['conv2d valid dilated', () => layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2 }), [1, 9, 8, 2]],
    ['conv2d explicit pads stride 2', () => layers.conv2d({ filters: 2, kernelSize: 3, strides: 2, padding: [0, 1, 1, 0] }), [1, 7, 6, 2]],
    ['depthwise explicit pads', () => layers.depthwiseConv2d({ kernelSize: 3, padding: [1, 1, 0, 2] }), [1, 5, 5, 2]],
    ['depthwise mult 2', () => layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same' }), [1, 5, 5, 3]],
    ['max pool', () => layers.maxPooling2d({ poolSize: 2 }), [1, 5, 6, 2]],
    ['avg pool same', () => layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), [1, 5, 6, 2]],
    ['global avg', () => layers.globalAveragePooling2d(), [2, 3, 3, 4]],
    ['global avg keepDims', () => layers.globalAveragePooling2d({ keepDims: true }), [2, 3, 3, 4]],
    ['zero padding', () => layers.zeroPadding2d({ padding: [[1, 2], [0, 3]] }), [1, 2, 2, 1]],
    ['flatten', () => layers.flatten(), [2, 3, 4, 5]],
    ['reshape', () => layers.reshape({ targetShape: [-1, 6] }), [2, 3, 4]],
  ];
  for (const [name, make, shape] of cases) {
    it(name, () => {
      const layer = make();
      const sym = layer.apply(input({ shape: shape.slice(1) }));
      const eager = make().apply(rand(shape, 7));
      expect(sym.shape).toEqual([null, ...eager.shape.slice(1)]);
    });
  }
});

describe('keepDims', () => {
  it('a config saved under the old name keepdims still loads, and round trips as keepDims', () => {
    const old = deserializeLayer({ className: 'GlobalAveragePooling2D', config: { name: 'gap', trainable: true, keepdims: true } });
    expect(old.computeOutputShape([null, 3, 3, 4])).toEqual([null, 1, 1, 4]);
    const again = deserializeLayer({ className: 'GlobalAveragePooling2D', config: old.getConfig() });
    expect(again.getConfig()).toMatchObject({ keepDims: true });
    expect(again.computeOutputShape([null, 3, 3, 4])).toEqual([null, 1, 1, 4]);
  });
});

describe('Conv2D', () => {
  it('equals the conv2d op with its kernel and bias, then the activation', async () => {
    const c = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', biasInitializer: 'randomNormal' });
    const x = rand([1, 4, 4, 2], 11);
    const y = c.apply(x);
    const want = relu(addOp(conv2dOp(x, c.kernel!.value, { padding: 'same' }), c.bias!.value));
    expectClose(await y.data(), await want.data(), {}, 'conv layer');
    expect(c.weights.map((w) => w.shape)).toEqual([[3, 3, 2, 3], [3]]);
  });

  it('depthwise kernels are named depthwise_kernel with shape [kh, kw, c, mult]', () => {
    const d = layers.depthwiseConv2d({ kernelSize: 3, name: 'block1a_dwconv', useBias: false });
    d.apply(rand([1, 4, 4, 5], 3));
    expect(d.weights.map((w) => [w.name, w.shape])).toEqual([['block1a_dwconv/depthwise_kernel', [3, 3, 5, 1]]]);
  });
});

describe('functional graphs', () => {
  it('builds a DAG with two inputs, lists layers in order and finds them by name', async () => {
    const a = input({ shape: [3], name: 'a' });
    const b = input({ shape: [3], name: 'b' });
    const s = layers.add({ name: 'sum' }).apply([a, b]);
    const p = layers.multiply({ name: 'prod' }).apply([s, b]);
    const out = layers.dense({ units: 2, name: 'out' }).apply(p);
    const m = new Functional({ inputs: [a, b], outputs: out, name: 'two' });
    expect(m.layers.map((l) => l.name)).toEqual(['a', 'b', 'sum', 'prod', 'out']);
    expect(m.getLayer('prod').className).toBe('Multiply');
    expect(m.getLayer({ index: 4 }).name).toBe('out');
    expect(() => m.getLayer('nope')).toThrow(/no layer named 'nope'/);
    expect(out.shape).toEqual([null, 2]);
    const xa = rand([2, 3], 1);
    const xb = rand([2, 3], 2);
    const y = m.apply([xa, xb]);
    const [va, vb] = [await read(xa), await read(xb)];
    const k = await m.getLayer('out').weights[0]!.read();
    const want: number[] = [];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        let acc = 0;
        for (let t = 0; t < 3; t++) acc += (va[i * 3 + t]! + vb[i * 3 + t]!) * vb[i * 3 + t]! * k[t * 2 + j]!;
        want.push(acc);
      }
    }
    expectClose(await y.data(), want, {}, 'dag');
  });

  it('rejects duplicate layer names and outputs that need an input not given', () => {
    const x = input({ shape: [2] });
    const h = layers.dense({ units: 2, name: 'same' }).apply(x);
    const o = layers.dense({ units: 2, name: 'same' }).apply(h);
    expect(() => new Functional({ inputs: x, outputs: o })).toThrow(/layer name 'same' is used by two layers/);
    const other = input({ shape: [2], name: 'other' });
    const o2 = layers.add().apply([x, other]);
    expect(() => new Functional({ inputs: x, outputs: o2 })).toThrow(/depend on input 'other'/);
  });

  it('checks the input shape of a call', () => {
    const x = input({ shape: [4] });
    const m = new Functional({ inputs: x, outputs: layers.dense({ units: 1 }).apply(x), name: 'chk' });
    expect(() => m.apply(rand([2, 5], 1))).toThrow(/model 'chk': input 0 .* expects shape \[null,4\], got \[2,5\]/);
  });

  it('sequential mode builds on the first call and hides the input layer', () => {
    const m = new Functional({ layers: [layers.dense({ units: 4 }), layers.dense({ units: 2 })] });
    expect(m.graphBuilt).toBe(false);
    const y = m.apply(rand([3, 5], 1));
    expect([...y.shape]).toEqual([3, 2]);
    expect(m.layers.map((l) => l.className)).toEqual(['Dense', 'Dense']);
    expect(m.countParams()).toBe(5 * 4 + 4 + 4 * 2 + 2);
  });

  it('summary lists output shapes, parameter counts and trainable / non-trainable totals', () => {
    const x = input({ shape: [6, 6, 2] });
    let h = layers.conv2d({ filters: 4, kernelSize: 3, name: 'c1' }).apply(x);
    h = layers.batchNormalization({ name: 'bn' }).apply(h);
    const o = layers.dense({ units: 3, name: 'd' }).apply(layers.globalAveragePooling2d({ name: 'gap' }).apply(h));
    const m = new Functional({ inputs: x, outputs: o, name: 'tiny' });
    const lines: string[] = [];
    const text = m.summary((l) => lines.push(l));
    expect(lines.length).toBeGreaterThan(8);
    expect(text).toMatch(/Model: "tiny"/);
    expect(text).toMatch(/c1 \(Conv2D\)\s+\(None, 4, 4, 4\)\s+76/);
    expect(text).toMatch(/bn \(BatchNormalization\)\s+\(None, 4, 4, 4\)\s+16/);
    expect(text).toMatch(/gap \(GlobalAveragePooling2D\)\s+\(None, 4\)\s+0/);
    expect(text).toMatch(/Total params: 107/);
    expect(text).toMatch(/Trainable params: 99/);
    expect(text).toMatch(/Non-trainable params: 8/);
  });

  it('a layer applied twice shares its weights, and the config keeps both calls', async () => {
    const x = input({ shape: [3] });
    const shared = layers.dense({ units: 3, name: 'shared' });
    const twice = shared.apply(shared.apply(x));
    const m = new Functional({ inputs: x, outputs: twice, name: 'reuse' });
    expect(m.weights).toHaveLength(2);
    const xv = rand([2, 3], 5);
    const once = shared.apply(shared.apply(xv));
    expectClose(await m.apply(xv).data(), await once.data(), { atol: 0, rtol: 0 }, 'shared');
    const r = deserializeLayer(JSON.parse(JSON.stringify({ className: 'Functional', config: m.getConfig() }))) as Functional;
    expect(r.graphNodes.filter((n) => n.layer.name === 'shared')).toHaveLength(2);
  });

  it('multiply broadcasts a squeeze-excite gate [N,1,1,C] over [N,H,W,C]', async () => {
    const x = input({ shape: [3, 3, 4] });
    const gate = layers.dense({ units: 4, activation: 'sigmoid' }).apply(layers.globalAveragePooling2d({ keepDims: true }).apply(x));
    const y = layers.multiply().apply([x, gate]);
    expect(gate.shape).toEqual([null, 1, 1, 4]);
    expect(y.shape).toEqual([null, 3, 3, 4]);
    const m = new Functional({ inputs: x, outputs: y });
    expect([...m.apply(rand([2, 3, 3, 4], 1)).shape]).toEqual([2, 3, 3, 4]);
  });

  it('getConfig rebuilds the same graph without the code that made it', async () => {
    const x = input({ shape: [4] });
    const h = layers.dense({ units: 3, activation: 'tanh', name: 'h' }).apply(x);
    const o = layers.add({ name: 'res' }).apply([h, layers.dense({ units: 3, name: 'skip' }).apply(x)]);
    const m = new Functional({ inputs: x, outputs: layers.activation({ activation: 'softmax', name: 'sm' }).apply(o), name: 'cfg' });
    const spec = JSON.parse(JSON.stringify({ className: m.className, config: m.getConfig() }));
    const r = deserializeLayer(spec) as Functional;
    expect(r.layers.map((l) => [l.name, l.className])).toEqual(m.layers.map((l) => [l.name, l.className]));
    r.apply(rand([1, 4], 1));
    const named = m.namedWeights();
    for (const [k, v] of r.namedWeights()) v.assign(named.get(k)!.value);
    const xv = rand([2, 4], 9);
    expectClose(await r.apply(xv).data(), await m.apply(xv).data(), { atol: 0, rtol: 0 }, 'rebuilt');
  });
});

describe('BatchNormalization', () => {
  const setup = () => {
    const bn = layers.batchNormalization({ momentum: 0.9 }) as BatchNormalization;
    const x = rand([6, 3], 21, 1, 3);
    bn.apply(x);
    return { bn, x };
  };

  it('in training uses batch statistics and moves the moving statistics by the momentum', async () => {
    const { bn, x } = setup();
    const xv = await read(x);
    const y = bn.apply(x, { training: true });
    const mean = [0, 1, 2].map((c) => [0, 1, 2, 3, 4, 5].reduce((s, i) => s + xv[i * 3 + c]!, 0) / 6);
    const vr = [0, 1, 2].map((c) => [0, 1, 2, 3, 4, 5].reduce((s, i) => s + (xv[i * 3 + c]! - mean[c]!) ** 2, 0) / 6);
    const want = xv.map((v, i) => (v - mean[i % 3]!) / Math.sqrt(vr[i % 3]! + 1e-3));
    expectClose(await y.data(), want, { atol: 1e-4 }, 'bn train');
    expectClose(await bn.movingMean!.read(), mean.map((m) => 0.1 * m), { atol: 1e-5 }, 'moving mean');
    expectClose(await bn.movingVariance!.read(), vr.map((v) => 0.9 + 0.1 * v), { atol: 1e-5 }, 'moving var');
  });

  it('in inference uses the moving statistics; a frozen layer stays in inference even when training', async () => {
    const { bn, x } = setup();
    const xv = await read(x);
    const want = xv.map((v) => v / Math.sqrt(1 + 1e-3));
    expectClose(await bn.apply(x).data(), want, {}, 'bn inference');
    bn.trainable = false;
    expectClose(await bn.apply(x, { training: true }).data(), want, {}, 'bn frozen');
    expect(await bn.movingMean!.read()).toEqual(new Float32Array([0, 0, 0]));
  });
});

describe('training-only layers', () => {
  it('dropout is the identity in inference and drops at the rate with 1/(1-rate) scaling in training', async () => {
    setSeed(5);
    const d = layers.dropout({ rate: 0.25 });
    const x = tensor(new Float32Array(4000).fill(2), [40, 100]);
    expect(d.apply(x)).toBe(x);
    const y = await read(d.apply(x, { training: true }));
    const zeros = y.filter((v) => v === 0).length;
    expect(y.every((v) => v === 0 || Math.abs(v - 2 / 0.75) < 1e-6)).toBe(true);
    expect(zeros / y.length).toBeGreaterThan(0.2);
    expect(zeros / y.length).toBeLessThan(0.3);
  });

  it('augmentation layers pass inputs through in inference and change them in training, reproducibly by seed', async () => {
    const x = rand([4, 6, 6, 1], 8, 0, 1);
    const makers = [
      () => layers.randomFlip({ mode: 'horizontal' }),
      () => layers.randomRotation({ factor: 0.2 }),
      () => layers.randomZoom({ heightFactor: 0.3 }),
      () => layers.randomTranslation({ heightFactor: 0.3, widthFactor: 0.3 }),
      () => layers.randomContrast({ factor: 0.5, valueRange: null }),
    ];
    const xv = await read(x);
    for (const make of makers) {
      const l = make();
      expect(l.apply(x)).toBe(x);
      setSeed(42);
      const a = await read(l.apply(x, { training: true }));
      setSeed(42);
      const b = await read(l.apply(x, { training: true }));
      expect(a, l.className).toEqual(b);
      expect(a.some((v, i) => Math.abs(v - xv[i]!) > 1e-4), l.className).toBe(true);
    }
  });
});

describe('preprocessing layers', () => {
  it('rescaling is x * scale + offset', async () => {
    const x = rand([2, 3], 1, 0, 255);
    const y = layers.rescaling({ scale: 1 / 255, offset: -0.5 }).apply(x);
    expectClose(await y.data(), (await read(x)).map((v) => v / 255 - 0.5), {}, 'rescaling');
  });

  it('normalization.adapt gives zero mean and unit variance per channel', async () => {
    const n = layers.normalization();
    const x = rand([50, 2], 4, 3, 9);
    n.adapt(x);
    const y = await read(n.apply(x));
    for (const c of [0, 1]) {
      const col = y.filter((_, i) => i % 2 === c);
      const m = col.reduce((a, b) => a + b, 0) / col.length;
      const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / col.length;
      expect(Math.abs(m)).toBeLessThan(1e-4);
      expect(Math.abs(v - 1)).toBeLessThan(1e-3);
    }
  });

  it('normalization is (x - mean) / max(sqrt(variance), 1e-7) per channel, following writes to its statistics', async () => {
    const n = layers.normalization({ mean: [1, -2, 0.5], variance: [4, 0.25, 0] });
    const x = rand([2, 3, 3, 3], 5, -4, 4);
    const xs = await read(x);
    const want = (mean: number[], variance: number[]) => xs.map((v, i) => (v - mean[i % 3]!) / Math.max(Math.sqrt(variance[i % 3]!), 1e-7));
    expectClose(await read(n.apply(x)), want([1, -2, 0.5], [4, 0.25, 0]), { atol: 1e-4, rtol: 1e-5 }, 'normalization');
    // NOTE: the layer caches its folded affine; a write to the statistics must reach the next call.
    n.mean!.write(Float32Array.of(0, 0, 0));
    n.variance!.write(Float32Array.of(1, 9, 16));
    expectClose(await read(n.apply(x)), want([0, 0, 0], [1, 9, 16]), { atol: 1e-5, rtol: 1e-5 }, 'after write');
  });

  it('unknown activations are named', () => {
    expect(() => layers.dense({ units: 1, activation: 'gelu' as 'relu' })).toThrow(/unknown activation 'gelu'/);
  });
});
