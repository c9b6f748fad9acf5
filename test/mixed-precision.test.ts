// Mixed precision as Keras spells it: dtype policies on layers (config round trip, the compute-precision scope),
// mixed Dense and pointwise Conv2D running matmul's f16 variant (within the f16 bound, and not the f32 result), and
// the LossScaleOptimizer's GPU state machine (skip + halve on a non-finite gradient, growth, exact no-op on skip).

import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { computePrecision, variantFamilies, withVariant } from '../src/gpu/variants.js';
import { Layer, type CallContext } from '../src/nn/layer.js';
import { deserializeLayer } from '../src/nn/registry.js';
import { Policy, globalPolicy, setGlobalPolicy } from '../src/nn/mixed-precision.js';
import { Dense, Conv2D, DepthwiseConv2D, input, layers } from '../src/nn/index.js';
import { loadModel, model, type Model } from '../src/train/model.js';
import { adam, LossScaleOptimizer, optimizerFromConfig, sgd, LOSS_SCALE_SLOTS, type GradientPair, type Optimizer } from '../src/train/optimizers/index.js';
import { keep } from '../src/tensor/engine.js';
import { matmulRef } from '../src/reference/matmul.js';
import { ref } from '../src/reference/index.js';
import { randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

afterEach(() => setGlobalPolicy('float32'));

const f32 = (v: ArrayLike<number>) => Float32Array.from(v);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** A layer that records the compute precision its call (and its op's backward) sees, and may throw. */
class Probe extends Layer {
  static override readonly className = 'Probe';
  seen: string[] = [];
  fail = false;
  call(x: g.Tensor | g.Tensor[], _ctx: CallContext): g.Tensor {
    this.seen.push(computePrecision());
    if (this.fail) throw new Error('probe failed');
    return x as g.Tensor;
  }
}

describe('dtype policies', () => {
  it('Policy names its dtypes and refuses unknown names', () => {
    const p = new Policy('mixed_float16');
    expect([p.name, p.computeDtype, p.variableDtype]).toEqual(['mixed_float16', 'float16', 'float32']);
    expect(new Policy('float32').computeDtype).toBe('float32');
    expect(() => new Policy('mixed_bfloat16' as never)).toThrow("unknown dtype policy 'mixed_bfloat16' (known: float32, mixed_float16)");
  });

  it('layers take the global policy at construction; an explicit dtype wins; variables stay float32', () => {
    const before = layers.dense({ units: 2 });
    setGlobalPolicy('mixed_float16');
    expect(globalPolicy().name).toBe('mixed_float16');
    const mixed = layers.dense({ units: 2 });
    const out = layers.dense({ units: 2, dtype: 'float32' });
    const viaPolicy = layers.dense({ units: 2, dtype: new Policy('float32') });
    expect(before.dtypePolicy.name).toBe('float32');
    expect(mixed.dtypePolicy.name).toBe('mixed_float16');
    expect([mixed.computeDtype, mixed.variableDtype]).toEqual(['float16', 'float32']);
    expect(out.dtypePolicy.name).toBe('float32');
    expect(viaPolicy.computeDtype).toBe('float32');
    const y = mixed.apply(g.ones([1, 3]));
    expect(mixed.weights.map((w) => w.value.dtype)).toEqual(['float32', 'float32']);
    y.dispose();
    for (const l of [before, mixed, out, viaPolicy]) l.dispose();
  });

  it('getConfig carries dtype and a model config round trip keeps every policy', () => {
    const x = input({ shape: [4] });
    const h = layers.dense({ units: 3, dtype: 'mixed_float16', name: 'mp_hidden' }).apply(x);
    const m = model({ inputs: x, outputs: layers.dense({ units: 2, activation: 'softmax', dtype: 'float32', name: 'mp_out' }).apply(h) });
    const config = m.getConfig();
    const specs = config.layers as { config: { name: string; dtype: string } }[];
    expect(specs.find((s) => s.config.name === 'mp_hidden')!.config.dtype).toBe('mixed_float16');
    expect(specs.find((s) => s.config.name === 'mp_out')!.config.dtype).toBe('float32');
    const back = deserializeLayer({ className: m.className, config: JSON.parse(JSON.stringify(config)) as Record<string, unknown> }) as Model;
    expect(back.getLayer('mp_hidden').dtypePolicy.name).toBe('mixed_float16');
    expect(back.getLayer('mp_out').dtypePolicy.name).toBe('float32');
    m.dispose();
    back.dispose();
  });

  it('a mixed layer calls in float16 precision, a float32 one inside it in float32, and errors restore the scope', () => {
    const p = new Probe({ dtype: 'mixed_float16' });
    const q = new Probe({ dtype: 'float32' });
    const x = g.ones([1, 2]);
    p.apply(x);
    q.apply(x);
    expect([p.seen, q.seen]).toEqual([['float16'], ['float32']]);
    p.fail = true;
    expect(() => p.apply(x)).toThrow('probe failed');
    expect(computePrecision()).toBe('float32');
    x.dispose();
  });
});

/** Copies the kernel and bias of `from` into `to` (both built). */
async function copyWeights(from: Layer, to: Layer): Promise<void> {
  for (const [i, w] of from.weights.entries()) to.weights[i]!.write(await w.read());
}

describe('mixed layers run matmul in f16 tiles', () => {
  const M = 8;
  const K = 64;
  const N = 16;

  /** The f16 forward bound of test/matmul-variants.test.ts: 2^-9 · Σ|x||w| + the f32 tolerance. */
  function expectF16Bound(got: ArrayLike<number>, xs: Float64Array, ws: Float64Array, bias: Float64Array): void {
    const want = matmulRef(ref(xs, [M, K]), ref(ws, [K, N]), { bias: ref(bias, [N]) });
    const mag = matmulRef(ref(xs.map(Math.abs), [M, K]), ref(ws.map(Math.abs), [K, N]));
    for (let i = 0; i < want.data.length; i++) {
      const bound = 2 ** -9 * mag.data[i]! + 2e-5 + 1e-4 * Math.abs(want.data[i]!);
      if (!(Math.abs(got[i]! - want.data[i]!) <= bound)) throw new Error(`at ${i}: got ${got[i]}, want ${want.data[i]} (bound ${bound})`);
    }
  }

  for (const kind of ['Dense', 'pointwise Conv2D'] as const) {
    it(`a mixed ${kind} forward equals the forced f16 variant, is within the f16 bound, and differs from float32`, async () => {
      const xs = randomValues(M * K, 41, -2, 2);
      const ws = randomValues(K * N, 42, -1, 1);
      const bs = randomValues(N, 43);
      const make = (dtype: 'mixed_float16' | 'float32') =>
        kind === 'Dense' ? new Dense({ units: N, dtype }) : new Conv2D({ filters: N, kernelSize: 1, dtype });
      const shape = kind === 'Dense' ? [M, K] : [2, 2, 2, K];
      const x = g.tensor(xs, shape);
      const mixed = make('mixed_float16');
      const plain = make('float32');
      mixed.apply(x).dispose();
      plain.apply(x).dispose();
      mixed.weights[0]!.write(f32(ws));
      mixed.weights[1]!.write(f32(bs));
      await copyWeights(mixed, plain);
      const ym = await mixed.apply(x).data();
      const yp = await plain.apply(x).data();
      const yf = await (await withVariant('matmul', 'f16', () => plain.apply(x))).data();
      expect([...ym]).toEqual([...yf]);
      expectF16Bound(ym, xs, ws, bs);
      // NOTE: K = 64 products of 11-bit operands: the f16 rounding shows well above float32 noise.
      expect(maxDiff(ym, yp)).toBeGreaterThan(1e-4);
      for (const l of [mixed, plain]) l.dispose();
      x.dispose();
    });
  }

  it('the backward of a mixed Dense runs f16 too (the tape keeps the forward precision)', async () => {
    const xs = f32(randomValues(M * K, 51, -2, 2));
    const mixed = new Dense({ units: N, dtype: 'mixed_float16' });
    const plain = new Dense({ units: N, dtype: 'float32' });
    const x = g.tensor(xs, [M, K]);
    mixed.apply(x).dispose();
    plain.apply(x).dispose();
    await copyWeights(mixed, plain);
    const gradOf = async (l: Dense, force: boolean) => {
      const xv = g.tensor(xs, [M, K]).requireGrad();
      const run = () => {
        const y = l.apply(xv, { training: true });
        g.sum(g.mul(y, y)).backward();
        y.dispose();
      };
      if (force) await withVariant('matmul', 'f16', run);
      else run();
      const d = await xv.grad!.data();
      xv.dispose();
      return d;
    };
    const gm = await gradOf(mixed, false);
    const gf = await gradOf(plain, true);
    const gp = await gradOf(plain, false);
    expect([...gm]).toEqual([...gf]);
    expect(maxDiff(gm, gp)).toBeGreaterThan(1e-4);
    for (const l of [mixed, plain]) l.dispose();
    x.dispose();
  });

  const lowFamily = (re: RegExp) => variantFamilies().find((f) => re.test(f.family) && f.lowPrecision.length > 0);
  for (const [kind, re] of [['Conv2D', /^conv/], ['DepthwiseConv2D', /depthwise/]] as const) {
    it(`a mixed 3x3 ${kind} runs its family's f16 variant`, async () => {
      const family = lowFamily(re);
      expect(family, `a ${kind} family with a low-precision variant`).toBeDefined();
      const x = g.tensor(randomValues(2 * 6 * 6 * 8, 61, -2, 2), [2, 6, 6, 8]);
      const make = (dtype: 'mixed_float16' | 'float32') =>
        kind === 'Conv2D' ? new Conv2D({ filters: 8, kernelSize: 3, dtype }) : new DepthwiseConv2D({ kernelSize: 3, dtype });
      const mixed = make('mixed_float16');
      const plain = make('float32');
      mixed.apply(x).dispose();
      plain.apply(x).dispose();
      await copyWeights(mixed, plain);
      const ym = await mixed.apply(x).data();
      const yf = await (await withVariant(family!.family, family!.lowPrecision[0]!, () => plain.apply(x))).data();
      const yp = await plain.apply(x).data();
      expect([...ym]).toEqual([...yf]);
      expect(maxDiff(ym, yp)).toBeGreaterThan(0);
      for (const l of [mixed, plain]) l.dispose();
      x.dispose();
    });
  }
});

describe('LossScaleOptimizer', () => {
  const P = [0.5, -1, 2, 0.25, 3, -0.75];

  /** A parameter and an Adam wrapped with loss scaling; `step(grads)` applies scaled gradients. */
  function setup(o: { initialScale?: number; dynamicGrowthSteps?: number } = {}) {
    const p = g.tensor(P, [6]);
    const opt = new LossScaleOptimizer(adam({ learningRate: 0.1 }), o);
    const step = (grads: number[]) => {
      const grad = g.tensor(grads, [6]);
      opt.applyGradients([{ param: p, grad, name: 'w' }]);
      grad.dispose();
    };
    return { p, opt, step };
  }

  it('divides gradients by the scale: the update equals the inner optimizer on unscaled gradients', async () => {
    const { p, opt, step } = setup();
    const g0 = [0.1, -0.2, 0.3, 0.05, -0.4, 0.6];
    step(g0.map((v) => v * 2 ** 15));
    const ref = g.tensor(P, [6]);
    const plain = adam({ learningRate: 0.1 });
    const grad = g.tensor(g0, [6]);
    plain.applyGradients([{ param: ref, grad, name: 'w' }]);
    expect([...(await p.data())]).toEqual([...(await ref.data())]);
    expect(await opt.lossScale()).toEqual({ scale: 2 ** 15, goodSteps: 1 });
    for (const t of [p, ref, grad]) t.dispose();
    opt.dispose();
    plain.dispose();
  });

  for (const bad of [Infinity, NaN]) {
    it(`a ${bad} gradient skips the step (weights and slots bit-identical) and halves the scale`, async () => {
      const { p, opt, step } = setup();
      step([1, 2, 3, 4, 5, 6]);
      const w = [...(await p.data())];
      const slots = await Promise.all(Object.entries(opt.getState().slots).map(async ([k, t]) => [k, [...(await t.data())]] as const));
      step([1, 2, bad, 4, 5, 6]);
      expect([...(await p.data())]).toEqual(w);
      for (const [k, v] of slots) {
        if (k === LOSS_SCALE_SLOTS.scale || k === LOSS_SCALE_SLOTS.goodSteps) continue;
        expect([...(await opt.getState().slots[k]!.data())], k).toEqual(v);
      }
      expect(await opt.lossScale()).toEqual({ scale: 2 ** 14, goodSteps: 0 });
      // Porting note (see loss-scale.ts): the CPU step count includes the skipped step.
      expect(opt.iterations).toBe(2);
      step([1, 1, 1, 1, 1, 1]);
      expect(maxDiff(await p.data(), w)).toBeGreaterThan(0);
      expect(await opt.lossScale()).toEqual({ scale: 2 ** 14, goodSteps: 1 });
      p.dispose();
      opt.dispose();
    });
  }

  it('a skipped first step leaves the weights and the new slots as built, with SGD momentum too', async () => {
    const p = g.tensor(P, [6]);
    const opt = new LossScaleOptimizer(sgd({ learningRate: 0.1, momentum: 0.9 }), { initialScale: 8 });
    const grad = g.tensor([1, NaN, 1, 1, 1, 1], [6]);
    opt.applyGradients([{ param: p, grad, name: 'w' }]);
    expect([...(await p.data())]).toEqual([...f32(P)]);
    expect([...(await opt.getState().slots['w/momentum']!.data())]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await opt.lossScale()).toEqual({ scale: 4, goodSteps: 0 });
    for (const t of [p, grad]) t.dispose();
    opt.dispose();
  });

  it('a custom optimizer without build: its lazily created slots go back to zero on a skipped first step', async () => {
    /** p -= 0.5 * g; acc += g (a slot created at the first step); plus a one-value slot of another size. */
    class Custom implements Optimizer {
      iterations = 0;
      learningRate = 0.5;
      slots = new Map<string, g.Tensor>();
      currentLearningRate = () => 0.5;
      applyGradients(pairs: GradientPair[]): void {
        for (const { param, grad, name } of pairs) {
          const acc = this.slots.get(`${name}/acc`) ?? keep(g.zeros(param.shape));
          this.slots.set(`${name}/acc`, acc);
          if (!this.slots.has(`${name}/count`)) this.slots.set(`${name}/count`, keep(g.zeros([1])));
          const count = this.slots.get(`${name}/count`)!;
          const next = [g.sub(param, g.mul(grad, g.scalar(0.5))), g.add(acc, grad), g.add(count, g.ones([1]))];
          [param, acc, count].forEach((t, i) => t.device.copy(next[i]!.buffer, 0, t.buffer, 0, t.size * 4));
          for (const t of next) t.dispose();
        }
        this.iterations++;
      }
      getState = () => ({ iterations: this.iterations, slots: Object.fromEntries(this.slots) });
      setState(): void {}
      getConfig = () => ({ name: 'Custom' });
    }
    const p = g.tensor(P, [6]);
    const opt = new LossScaleOptimizer(new Custom(), { initialScale: 2 });
    const bad = g.tensor([1, 1, 1, NaN, 1, 1], [6]);
    opt.applyGradients([{ param: p, grad: bad, name: 'w' }]);
    expect([...(await p.data())]).toEqual([...f32(P)]);
    const slots = opt.getState().slots;
    expect([...(await slots['w/acc']!.data())]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...(await slots['w/count']!.data())]).toEqual([0]);
    const good = g.tensor([2, 2, 2, 2, 2, 2], [6]);
    opt.applyGradients([{ param: p, grad: good, name: 'w' }]);
    // NOTE: the skip halved the scale to 1, so the gradient 2 applies as is.
    expect([...(await p.data())]).toEqual(P.map((v) => v - 1));
    expect([...(await opt.getState().slots['w/count']!.data())]).toEqual([1]);
    for (const t of [p, bad, good]) t.dispose();
    opt.dispose();
  });

  it('doubles the scale after dynamicGrowthSteps finite steps in a row, and a skip resets the count', async () => {
    const { p, opt, step } = setup({ initialScale: 4, dynamicGrowthSteps: 3 });
    const ones = [1, 1, 1, 1, 1, 1];
    step(ones);
    step(ones);
    expect(await opt.lossScale()).toEqual({ scale: 4, goodSteps: 2 });
    step(ones);
    expect(await opt.lossScale()).toEqual({ scale: 8, goodSteps: 0 });
    step(ones);
    step(ones);
    step([Infinity, 1, 1, 1, 1, 1]);
    expect(await opt.lossScale()).toEqual({ scale: 4, goodSteps: 0 });
    step(ones);
    expect(await opt.lossScale()).toEqual({ scale: 4, goodSteps: 1 });
    p.dispose();
    opt.dispose();
  });

  it('scaleLoss multiplies by the current scale on the GPU', async () => {
    const opt = new LossScaleOptimizer(sgd(), { initialScale: 1024 });
    const loss = g.scalar(0.375);
    const s = opt.scaleLoss(loss);
    expect((await s.data())[0]).toBe(384);
    for (const t of [loss, s]) t.dispose();
    opt.dispose();
  });

  it('config and state round trip; a state without loss-scale slots keeps the current scale', async () => {
    const { p, opt, step } = setup({ initialScale: 64, dynamicGrowthSteps: 5 });
    step([1, 1, Infinity, 1, 1, 1]);
    step([1, 1, 1, 1, 1, 1]);
    const back = optimizerFromConfig(JSON.parse(JSON.stringify(opt.getConfig())) as Record<string, unknown>) as LossScaleOptimizer;
    expect(back.getConfig()).toEqual(opt.getConfig());
    expect(back.innerOptimizer.getConfig()).toEqual(opt.innerOptimizer.getConfig());
    back.setState(opt.getState());
    expect(await back.lossScale()).toEqual({ scale: 32, goodSteps: 1 });
    expect(back.iterations).toBe(2);
    const inner = opt.innerOptimizer.getState();
    const fresh = new LossScaleOptimizer(adam({ learningRate: 0.1 }), { initialScale: 16 });
    fresh.setState(inner);
    expect(await fresh.lossScale()).toEqual({ scale: 16, goodSteps: 0 });
    expect(() => new LossScaleOptimizer(opt)).toThrow('already a LossScaleOptimizer');
    p.dispose();
    for (const o of [opt, back, fresh]) o.dispose();
  });
});

describe('compile and checkpoints', () => {
  function tiny(dtype: 'mixed_float16' | 'float32'): Model {
    g.setSeed(3);
    const x = input({ shape: [4] });
    const h = layers.dense({ units: 8, activation: 'relu', dtype, name: 'hidden' }).apply(x);
    return model({ inputs: x, outputs: layers.dense({ units: 2, activation: 'softmax', dtype: 'float32', name: 'out' }).apply(h) });
  }

  it('compile wraps the optimizer when the model has mixed layers (unless autoScaleLoss is false)', () => {
    const m = tiny('mixed_float16');
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    expect(m.optimizer).toBeInstanceOf(LossScaleOptimizer);
    const wrapped = m.optimizer!;
    m.compile({ optimizer: wrapped, loss: 'categoricalCrossentropy' });
    expect(m.optimizer).toBe(wrapped);
    const inner = adam();
    m.compile({ optimizer: inner, loss: 'categoricalCrossentropy' });
    const first = m.optimizer as LossScaleOptimizer;
    expect(first.innerOptimizer).toBe(inner);
    m.compile({ optimizer: inner, loss: 'categoricalCrossentropy' });
    expect(m.optimizer).toBe(first);
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', autoScaleLoss: false });
    expect(m.optimizer).not.toBeInstanceOf(LossScaleOptimizer);
    const f = tiny('float32');
    f.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    expect(f.optimizer).not.toBeInstanceOf(LossScaleOptimizer);
    m.dispose();
    f.dispose();
  });

  it('fit with an overflowing scale skips every step on the GPU (weights unchanged, memory flat) and halves the scale per step', async () => {
    const m = tiny('mixed_float16');
    // NOTE: loss · 2^60 puts gradients far beyond f16's 65504 in the f16 tiles of the mixed layer's backward.
    m.compile({ optimizer: new LossScaleOptimizer(adam(), { initialScale: 2 ** 60 }), loss: 'categoricalCrossentropy' });
    const x = g.tensor(randomValues(16 * 4, 71), [16, 4]);
    const y = g.oneHot(g.tensor([...Array(16).keys()].map((i) => i % 2), [16], { dtype: 'int32' }), 2);
    const before = await Promise.all(m.weights.map((w) => w.read()));
    const live: number[] = [];
    await m.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, verbose: 0, callbacks: [{ onEpochEnd: () => void live.push(g.memory().tensorsLive) }] });
    const after = await Promise.all(m.weights.map((w) => w.read()));
    after.forEach((a, i) => expect([...a]).toEqual([...before[i]!]));
    expect(await (m.optimizer as LossScaleOptimizer).lossScale()).toEqual({ scale: 2 ** 54, goodSteps: 0 });
    expect(live[2]).toBe(live[0]);
    // With a scale that fits, the same fit trains: the weights move and the scale stays.
    m.compile({ optimizer: new LossScaleOptimizer(adam(), { initialScale: 256 }), loss: 'categoricalCrossentropy' });
    await m.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    expect(maxDiff((await m.weights[0]!.read()), before[0]!)).toBeGreaterThan(0);
    expect(await (m.optimizer as LossScaleOptimizer).lossScale()).toEqual({ scale: 256, goodSteps: 2 });
    for (const t of [x, y]) t.dispose();
    m.dispose();
  });

  it('checkpoints keep the scale; float32 and mixed checkpoints load into each other', async () => {
    const m = tiny('mixed_float16');
    m.compile({ optimizer: new LossScaleOptimizer(adam(), { initialScale: 512 }), loss: 'categoricalCrossentropy' });
    const x = g.tensor(randomValues(8 * 4, 81), [8, 4]);
    const y = g.oneHot(g.tensor([0, 1, 0, 1, 0, 1, 0, 1], [8], { dtype: 'int32' }), 2);
    await m.fit(x, y, { epochs: 1, batchSize: 4, shuffle: false, verbose: 0 });
    const mixedBytes = await m.saveBytes();
    const back = await loadModel(mixedBytes);
    expect(back.optimizer).toBeInstanceOf(LossScaleOptimizer);
    expect(back.optimizer!.iterations).toBe(2);
    expect(await (back.optimizer as LossScaleOptimizer).lossScale()).toEqual({ scale: 512, goodSteps: 2 });
    const f = tiny('float32');
    f.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    expect((await f.loadCheckpoint(mixedBytes)).iterations).toBe(2);
    const m2 = tiny('mixed_float16');
    m2.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    await m2.loadCheckpoint(await f.saveBytes());
    expect(m2.optimizer!.iterations).toBe(2);
    expect(await (m2.optimizer as LossScaleOptimizer).lossScale()).toEqual({ scale: 2 ** 15, goodSteps: 0 });
    for (const t of [x, y]) t.dispose();
    for (const mm of [m, back, f, m2]) mm.dispose();
  });
});
