// Inference fusion in functional models (src/nn/fusion.ts): fused and unfused runs agree on EfficientNet-B0 and
// MobileNetV2 graphs and on small conv/BN stacks, folded weights follow every weight update, intermediates that are
// model outputs are not fused away, and fusion cuts B0's dispatches per image (a count, not a timing).

import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { applications, getDevice, layers, model, noGrad, oneHot, setFusion, setSeed, tensor, type Model, type Tensor } from '../src/index.js';
import { watchKernels } from '../src/gpu/counters.js';
import { markWritten, Variable } from '../src/nn/variable.js';
import { sgd } from '../src/train/optimizers/index.js';
import { randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

afterEach(() => setFusion(true));

/** Gives every batch-norm statistic and parameter, and every bias, non-trivial values (folding must matter). */
function randomizeNorms(m: Model, seed: number): void {
  for (const v of m.weights) {
    const n = v.value.size;
    const put = (lo: number, hi: number) => v.write(Float32Array.from(randomValues(n, seed++, lo, hi)));
    if (/(gamma|moving_variance)$/.test(v.name)) put(0.5, 1.5);
    else if (/(beta|moving_mean|bias)$/.test(v.name)) put(-0.3, 0.3);
  }
}

/** Runs the model without fusion, then with it; returns both outputs' values. */
async function bothWays(m: Model, x: Tensor): Promise<{ plain: Float32Array; fused: Float32Array }> {
  setFusion(false);
  const a = noGrad(() => m.apply(x) as Tensor);
  setFusion(true);
  const b = noGrad(() => m.apply(x) as Tensor);
  const [plain, fused] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
  a.dispose();
  b.dispose();
  return { plain, fused };
}

/** |fused - plain| <= 1e-4 * max(1, max |plain|) everywhere, and the outputs are not trivially constant. */
function expectAgree(r: { plain: Float32Array; fused: Float32Array }, label: string): void {
  expect(r.fused.length).toBe(r.plain.length);
  const scale = Math.max(1, ...r.plain.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < r.plain.length; i++) worst = Math.max(worst, Math.abs(r.fused[i]! - r.plain[i]!));
  expect(worst, `${label}: max |fused - unfused| ${worst} at scale ${scale}`).toBeLessThanOrEqual(1e-4 * scale);
  expect(new Set(r.plain).size, `${label}: outputs vary`).toBeGreaterThan(1);
}

/** Dispatches recorded by one inference call (after a warm-up call that fills the folded-weight caches). */
function dispatchesOf(m: Model, x: Tensor): number {
  noGrad(() => (m.apply(x) as Tensor).dispose());
  const d = getDevice();
  const before = d.dispatchCount;
  noGrad(() => (m.apply(x) as Tensor).dispose());
  return d.dispatchCount - before;
}

const input = (shape: number[], seed: number) => tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed, 0, 255), shape);

describe('EfficientNet-B0', () => {
  it('fused and unfused inference agree, and fusion halves the dispatches per image', async () => {
    setSeed(11);
    const m = applications.efficientNetB0({ weights: null, includeTop: false, pooling: 'avg', inputShape: [32, 32, 3] });
    randomizeNorms(m, 100);
    const x = input([2, 32, 32, 3], 5);
    expectAgree(await bothWays(m, x), 'B0 batch 2');
    const x1 = input([1, 32, 32, 3], 6);
    setFusion(false);
    const plain = dispatchesOf(m, x1);
    setFusion(true);
    const fused = dispatchesOf(m, x1);
    // NOTE: per MBConv block: expand, depthwise, SE gate, project (+ add) instead of ~13 kernels.
    expect(fused, `dispatches per B0 image: ${plain} unfused, ${fused} fused`).toBeLessThanOrEqual(Math.floor(plain / 2));
    console.log(`B0 batch 1 (32x32, pooled): ${plain} dispatches unfused, ${fused} fused`);
    x.dispose();
    x1.dispose();
    m.dispose();
  });
});

describe('MobileNetV2', () => {
  it('fused and unfused inference agree (conv + BN + ReLU6 chains)', async () => {
    setSeed(12);
    const m = applications.mobileNetV2({ weights: null, includeTop: false, pooling: 'avg', inputShape: [32, 32, 3] });
    randomizeNorms(m, 300);
    const x = input([1, 32, 32, 3], 7);
    expectAgree(await bothWays(m, x), 'MobileNetV2');
    x.dispose();
    m.dispose();
  });
});

/** conv -> BN -> relu6, 1x1 conv (with bias) -> BN -> add (skip), zero pad -> depthwise -> BN -> swish, dense head. */
function smallNet(outputs: 'end' | 'intermediates'): { m: Model; ws: Record<string, Variable> } {
  setSeed(13);
  const x = g.input({ shape: [6, 6, 4] });
  const c1 = layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'c1' }).apply(x);
  const b1 = layers.batchNormalization({ name: 'bn1' }).apply(c1);
  const a1 = layers.activation({ activation: 'relu6', name: 'a1' }).apply(b1);
  const c2 = layers.conv2d({ filters: 8, kernelSize: 1, name: 'c2' }).apply(a1);
  const b2 = layers.batchNormalization({ name: 'bn2', epsilon: 1e-5 }).apply(c2);
  const r2 = layers.add({ name: 'r2' }).apply([a1, b2]);
  const z3 = layers.zeroPadding2d({ padding: [[0, 1], [1, 2]], name: 'z3' }).apply(r2);
  const d3 = layers.depthwiseConv2d({ kernelSize: 3, strides: 2, depthMultiplier: 2, name: 'd3' }).apply(z3);
  const b3 = layers.batchNormalization({ name: 'bn3' }).apply(d3);
  const a3 = layers.activation({ activation: 'swish', name: 'a3' }).apply(b3);
  const p = layers.globalAveragePooling2d({ name: 'gap' }).apply(a3);
  const o = layers.dense({ units: 3, name: 'head' }).apply(p);
  const m = model({ inputs: x, outputs: outputs === 'end' ? o : [o, b1, c2], name: 'small' });
  randomizeNorms(m, 500);
  const ws = Object.fromEntries(m.weights.map((v) => [v.name, v]));
  return { m, ws };
}

async function agreeSmall(m: Model, x: Tensor, label: string): Promise<void> {
  setFusion(false);
  const a = noGrad(() => m.applyAll(x)) as Tensor | Tensor[];
  setFusion(true);
  const b = noGrad(() => m.applyAll(x)) as Tensor | Tensor[];
  const [as, bs] = [Array.isArray(a) ? a : [a], Array.isArray(b) ? b : [b]];
  for (let i = 0; i < as.length; i++) {
    expectAgree({ plain: (await as[i]!.data()) as Float32Array, fused: (await bs[i]!.data()) as Float32Array }, `${label} output ${i}`);
  }
  for (const t of [...as, ...bs]) t.dispose();
}

/** The kernel names in `a` that `b` does not have (as multisets), sorted. */
function without(a: readonly string[], b: readonly string[]): string[] {
  const left = [...b];
  return a.filter((k) => {
    const i = left.indexOf(k);
    if (i >= 0) left.splice(i, 1);
    return i < 0;
  }).sort();
}

describe('conv + BN folding', () => {
  it('agrees with the unfused layers, with fewer dispatches', async () => {
    const { m } = smallNet('end');
    const x = tensor(randomValues(2 * 6 * 6 * 4, 21), [2, 6, 6, 4]);
    await agreeSmall(m, x, 'small net');
    setFusion(false);
    const plain = dispatchesOf(m, x);
    setFusion(true);
    // NOTE: three BNs, two activation layers, the add and the zero padding fold away.
    expect(dispatchesOf(m, x)).toBe(plain - 7);
    x.dispose();
    m.dispose();
  });

  it('recomputes the folded weights after write(), an optimizer step and a training-mode BN update', async () => {
    const { m, ws } = smallNet('end');
    const x = tensor(randomValues(2 * 6 * 6 * 4, 22), [2, 6, 6, 4]);
    await agreeSmall(m, x, 'before');
    ws['bn1/gamma']!.write(Float32Array.from(randomValues(8, 23, 2, 3)));
    ws['c1/kernel']!.write(Float32Array.from(randomValues(3 * 3 * 4 * 8, 24)));
    await agreeSmall(m, x, 'after write');
    const before = await ws['d3/depthwise_kernel']!.read();
    const mean = await ws['bn3/moving_mean']!.read();
    m.compile({ optimizer: sgd({ learningRate: 0.5 }), loss: 'categoricalCrossentropy' });
    const y = oneHot(tensor([0, 2], [2], { dtype: 'int32' }), 3);
    await m.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
    // NOTE: the step changed the depthwise kernel (optimizer) and the moving statistics (training-mode BN).
    expect(await ws['d3/depthwise_kernel']!.read()).not.toEqual(before);
    expect(await ws['bn3/moving_mean']!.read()).not.toEqual(mean);
    await agreeSmall(m, x, 'after fit');
    x.dispose();
    y.dispose();
    m.dispose();
  });

  it('fuses a frozen base while the head trains, with the same head update as unfused', async () => {
    const heads: Float32Array[] = [];
    for (const on of [false, true]) {
      setFusion(on);
      const { m, ws } = smallNet('end');
      for (const l of m.layers) if (l.name !== 'head') l.trainable = false;
      const x = tensor(randomValues(2 * 6 * 6 * 4, 26), [2, 6, 6, 4]);
      const y = oneHot(tensor([1, 2], [2], { dtype: 'int32' }), 3);
      m.compile({ optimizer: sgd({ learningRate: 0.5 }), loss: 'categoricalCrossentropy' });
      await m.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0 });
      heads.push(await ws['head/kernel']!.read());
      for (const t of [x, y]) t.dispose();
      m.dispose();
    }
    expectAgree({ plain: heads[0]!, fused: heads[1]! }, 'head kernel after one step');
  });

  // Moving statistics (Keras: a base applied with training: false) and batch statistics (training: true): BN and its
  // activation as one pass of the batch-norm kernels.
  for (const training of [false, true]) {
    it(`while recording with ${training ? 'batch' : 'moving'} statistics, runs BN + activation as one pass with the unfused gradients`, async () => {
      const runs: { grads: Map<string, Float32Array>; moving: Map<string, Float32Array>; y: Float32Array; kernels: string[] }[] = [];
      for (const on of [false, true]) {
        setFusion(on);
        const { m } = smallNet('end');
        const x = tensor(randomValues(2 * 6 * 6 * 4, 27), [2, 6, 6, 4]);
        const params = m.trainableWeights.map((v) => v.value);
        for (const p of params) p.requiresGrad = true;
        // NOTE: the kernels of the forward only.
        const watch = watchKernels(getDevice());
        const out = g.tidy(() => {
          let o: Tensor;
          try {
            o = m.call(x, { training, frozen: false }) as Tensor;
          } finally {
            watch.stop();
          }
          g.mean(g.square(o)).backward();
          return o;
        });
        const y = (await out.data()) as Float32Array;
        out.dispose();
        const kernels = watch.names;
        const grads = new Map<string, Float32Array>();
        for (const v of m.trainableWeights) grads.set(v.name, (await v.value.grad!.data()) as Float32Array);
        const moving = new Map<string, Float32Array>();
        for (const v of m.nonTrainableWeights) moving.set(v.name, (await v.value.data()) as Float32Array);
        runs.push({ grads, moving, y, kernels });
        for (const p of params) p.requiresGrad = false;
        g.zeroGrad(params);
        x.dispose();
        m.dispose();
      }
      const [plain, fused] = runs as [(typeof runs)[0], (typeof runs)[0]];
      // NOTE: c1 → bn1 → relu6 and (pad →) d3 → bn3 → swish fuse: their activation passes (unary4) and the pad's gather
      // go; with batch statistics their finalize also writes the backward's [scale | beta]. c2 → bn2 feeds a residual
      // add and runs unfused.
      const stats = training ? ['bn_stats_finalize', 'bn_stats_finalize'] : [];
      expect(without(plain.kernels, fused.kernels)).toEqual(['gather_rows', 'unary4', 'unary4', ...stats].sort());
      expect(without(fused.kernels, plain.kernels)).toEqual(training ? ['bn_stats_finalize_act', 'bn_stats_finalize_act'] : []);
      expectAgree({ plain: plain.y, fused: fused.y }, 'output');
      expect([...fused.grads.keys()]).toEqual([...plain.grads.keys()]);
      for (const [name, want] of plain.grads) expectAgree({ plain: want, fused: fused.grads.get(name)! }, `gradient of ${name}`);
      // NOTE: batch statistics move the moving statistics the same way fused or not; moving ones leave them alone.
      for (const [name, want] of plain.moving) expectAgree({ plain: want, fused: fused.moving.get(name)! }, `${name} after the step`);
    });
  }

  // NOTE: the Rescaling output feeds only the fused conv; freed after the forward, the conv's backward would fail.
  for (const bnTrainable of [true, false]) {
    it(`keeps a fused group's input that needs no gradient for its backward (stem after Rescaling, BN ${bnTrainable ? 'batch' : 'moving'} statistics)`, async () => {
      setSeed(21);
      const x = g.input({ shape: [6, 6, 3] });
      const r = layers.rescaling({ scale: 1 / 255 }).apply(x);
      const c = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(r);
      const bn = layers.batchNormalization();
      const a = layers.activation({ activation: 'swish' }).apply(bn.apply(c));
      const o = layers.dense({ units: 2 }).apply(layers.globalAveragePooling2d().apply(a));
      const m = model({ inputs: x, outputs: o });
      bn.trainable = bnTrainable;
      m.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
      const xs = input([2, 6, 6, 3], 30);
      const ys = oneHot(tensor([0, 1], [2], { dtype: 'int32' }), 2);
      const before = (await m.layers[2]!.weights[0]!.value.data()).slice();
      const h = await m.fit(xs, ys, { epochs: 1, batchSize: 2, verbose: 0 });
      expect(Number.isFinite(h.history.loss![0])).toBe(true);
      expect(await m.layers[2]!.weights[0]!.value.data(), 'the conv trained').not.toEqual(before);
      for (const t of [xs, ys]) t.dispose();
      m.dispose();
    });
  }

  it('leaves intermediates that are model outputs unfused', async () => {
    const { m } = smallNet('intermediates');
    const x = tensor(randomValues(1 * 6 * 6 * 4, 25), [1, 6, 6, 4]);
    await agreeSmall(m, x, 'multi-output');
    x.dispose();
    m.dispose();
  });
});

describe('Rescaling → Normalization', () => {
  it('runs as one scaleShift pass that follows adapt(), agreeing with the unfused layers', async () => {
    const x = g.input({ shape: [5, 5, 3] });
    const r = layers.rescaling({ scale: 1 / 255, offset: -0.25 }).apply(x);
    const norm = layers.normalization({ mean: [0.1, 0.2, 0.3], variance: [0.04, 0.09, 0.0] });
    const o = layers.conv2d({ filters: 2, kernelSize: 1 }).apply(norm.apply(r));
    const m = model({ inputs: x, outputs: o });
    const xs = input([2, 5, 5, 3], 40);
    await agreeSmall(m, xs, 'rescaling + normalization (a zero variance channel)');
    const watch = watchKernels(getDevice());
    noGrad(() => (m.apply(xs) as Tensor).dispose());
    watch.stop();
    // NOTE: the fused pair is one scale_shift; the 1x1 conv is one matmul.
    expect(watch.names.map((k) => k.split(':').pop())).toEqual(['scale_shift', expect.stringMatching(/matmul/)]);
    // adapt() rewrites the statistics: the cached affine must follow. NOTE: the fused run goes first, so it meets the
    // affine it cached before adapt() (an unfused run in between would replace it with its own).
    const data = input([4, 5, 5, 3], 41);
    norm.adapt(g.mul(data, g.scalar(1 / 255)));
    const fused = noGrad(() => m.apply(xs) as Tensor);
    setFusion(false);
    const plain = noGrad(() => m.apply(xs) as Tensor);
    setFusion(true);
    expectAgree({ plain: (await plain.data()) as Float32Array, fused: (await fused.data()) as Float32Array }, 'after adapt');
    for (const t of [fused, plain]) t.dispose();
    for (const t of [xs, data]) t.dispose();
    m.dispose();
  });
});

describe('Variable.version', () => {
  it('changes on write, assign, rebind and an in-place write marked through its tensor', () => {
    const v = new Variable('w', g.zeros([4]), true);
    const seen = [v.version];
    const step = (f: () => void) => {
      f();
      expect(seen).not.toContain(v.version);
      seen.push(v.version);
    };
    step(() => v.write(new Float32Array(4)));
    step(() => v.assign(g.ones([4])));
    step(() => v.rebind(getDevice()));
    step(() => markWritten(v.value));
    const other = g.zeros([4]);
    const before = v.version;
    markWritten(other);
    expect(v.version).toBe(before);
    other.dispose();
    v.dispose();
  });
});
