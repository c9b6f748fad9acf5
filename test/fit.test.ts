// compile/fit/evaluate/predict: Keras epoch numbering, losses and metrics against plain formulas, datasets,
// validation logs, stopTraining, and at most one readback per training step.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { getDevice, tensor, type Tensor } from '../src/index.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { model, sequential, losses, metrics, type Batch, type Model } from '../src/train/index.js';
import { sgd } from '../src/train/optimizers/index.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();
afterEach(() => vi.restoreAllMocks());

/** A model whose prediction is its input, so that evaluate(p, y) measures loss(y, p). */
function identity(width: number): Model {
  const x = input({ shape: [width] });
  return model({ inputs: x, outputs: layers.activation({ activation: 'linear' }).apply(x) });
}

function probs(n: number, c: number, seed: number): number[][] {
  const r = randomValues(n * c, seed, 0.05, 1);
  return [...Array(n).keys()].map((i) => {
    const row = Array.from(r.slice(i * c, (i + 1) * c));
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => v / s);
  });
}

const flat = (rows: number[][]) => rows.flat();
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const argmax = (r: number[]) => r.indexOf(Math.max(...r));

function smallNet(): Model {
  setSeed(11);
  return sequential([layers.dense({ units: 8, activation: 'relu', inputShape: [4] }), layers.dense({ units: 3, activation: 'softmax' })]);
}

function blobs(n: number, seed: number): { x: Tensor; y: Tensor; labels: number[] } {
  const r = randomValues(n * 4, seed);
  const labels = [...Array(n).keys()].map((i) => i % 3);
  const xs = labels.flatMap((c, i) => [0, 1, 2, 3].map((k) => r[i * 4 + k]! * 0.3 + (k === c ? 1.5 : 0)));
  const ys = labels.flatMap((c) => [0, 1, 2].map((k) => (k === c ? 1 : 0)));
  return { x: tensor(xs, [n, 4]), y: tensor(ys, [n, 3]), labels };
}

describe('losses match their formulas', () => {
  const n = 6;
  const c = 4;
  const p = probs(n, c, 1);
  const labels = [0, 3, 1, 2, 2, 0];
  const onehot = labels.map((l) => [0, 1, 2, 3].map((k) => (k === l ? 1 : 0)));
  const logits = [...Array(n).keys()].map((i) => Array.from(randomValues(c, 20 + i, -3, 3)));

  const evalLoss = async (loss: Parameters<Model['compile']>[0]['loss'], pred: number[][], y: Tensor) => {
    const m = identity(c);
    m.compile({ optimizer: 'sgd', loss });
    return (await m.evaluate(tensor(flat(pred), [n, c]), y, { batchSize: 4 })).loss!;
  };

  it('categorical cross-entropy on probabilities and on logits', async () => {
    const want = mean(p.map((r, i) => -Math.log(r[labels[i]!]!)));
    expect(await evalLoss('categoricalCrossentropy', p, tensor(flat(onehot), [n, c]))).toBeCloseTo(want, 5);
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
    const wantL = mean(logits.map((r, i) => lse(r) - r[labels[i]!]!));
    expect(await evalLoss(losses.categoricalCrossentropy({ fromLogits: true }), logits, tensor(flat(onehot), [n, c]))).toBeCloseTo(wantL, 5);
  });

  it('sparse categorical cross-entropy with int32 labels', async () => {
    const y = tensor(labels, [n], { dtype: 'int32' });
    const want = mean(p.map((r, i) => -Math.log(r[labels[i]!]!)));
    expect(await evalLoss('sparseCategoricalCrossentropy', p, y)).toBeCloseTo(want, 5);
    const lse = (r: number[]) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
    const wantL = mean(logits.map((r, i) => lse(r) - r[labels[i]!]!));
    expect(await evalLoss(losses.sparseCategoricalCrossentropy({ fromLogits: true }), logits, y)).toBeCloseTo(wantL, 5);
  });

  it('binary cross-entropy on probabilities and logits, and mean squared error', async () => {
    const t = [...Array(n).keys()].map((i) => [0, 1, 2, 3].map((k) => ((i + k) % 2 === 0 ? 1 : 0)));
    const y = tensor(flat(t), [n, c]);
    const bce = (pr: number[][]) => mean(pr.map((r, i) => mean(r.map((q, k) => -(t[i]![k]! * Math.log(q) + (1 - t[i]![k]!) * Math.log(1 - q))))));
    expect(await evalLoss('binaryCrossentropy', p, y)).toBeCloseTo(bce(p), 5);
    const sig = logits.map((r) => r.map((v) => 1 / (1 + Math.exp(-v))));
    expect(await evalLoss(losses.binaryCrossentropy({ fromLogits: true }), logits, y)).toBeCloseTo(bce(sig), 5);
    const mse = mean(p.map((r, i) => mean(r.map((q, k) => (q - t[i]![k]!) ** 2))));
    expect(await evalLoss('meanSquaredError', p, y)).toBeCloseTo(mse, 6);
  });
});

describe('metrics match their definitions', () => {
  it('accuracy, categorical, sparse and top-k accuracy', async () => {
    const n = 10;
    const c = 5;
    const p = probs(n, c, 5);
    // NOTE: every third row is labelled with its predicted class so that accuracy is neither 0 nor 1.
    const labels = p.map((r, i) => (i % 3 === 0 ? argmax(r) : (argmax(r) + 1 + (i % 2)) % c));
    const oh = labels.map((l) => [...Array(c).keys()].map((k) => (k === l ? 1 : 0)));
    const acc = mean(p.map((r, i) => (argmax(r) === labels[i] ? 1 : 0)));
    const top2 = mean(p.map((r, i) => (r.filter((v) => v > r[labels[i]!]!).length < 2 ? 1 : 0)));
    const m = identity(c);
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy', metrics: ['accuracy', 'categoricalAccuracy', metrics.topKCategoricalAccuracy({ k: 2, name: 'top2' })] });
    const logs = await m.evaluate(tensor(flat(p), [n, c]), tensor(flat(oh), [n, c]), { batchSize: 3 });
    expect(logs.accuracy).toBeCloseTo(acc, 6);
    expect(logs.categoricalAccuracy).toBeCloseTo(acc, 6);
    expect(logs.top2).toBeCloseTo(top2, 6);
    expect(acc).toBeGreaterThan(0);
    expect(top2).toBeGreaterThan(acc);
    const s = identity(c);
    s.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy', 'sparseCategoricalAccuracy'] });
    const sl = await s.evaluate(tensor(flat(p), [n, c]), tensor(labels, [n], { dtype: 'int32' }), { batchSize: 4 });
    expect(sl.accuracy).toBeCloseTo(acc, 6);
    expect(sl.sparseCategoricalAccuracy).toBeCloseTo(acc, 6);
  });
});

describe('fit', () => {
  it('follows Keras initialEpoch numbering: epochs is the index of the last epoch', async () => {
    const m = smallNet();
    m.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy' });
    const { x, y } = blobs(12, 1);
    const seen: number[] = [];
    const h = await m.fit(x, y, { epochs: 5, initialEpoch: 2, batchSize: 6, verbose: 0, callbacks: [{ onEpochBegin: (e) => void seen.push(e) }] });
    expect(seen).toEqual([2, 3, 4]);
    expect(h.epoch).toEqual([2, 3, 4]);
    expect(h.history.loss).toHaveLength(3);
    expect(m.epochsDone).toBe(5);
    const none = await m.fit(x, y, { epochs: 2, initialEpoch: 2, verbose: 0 });
    expect(none.epoch).toEqual([]);
  });

  it('prints Keras progress lines with the 1-based epoch and val_ logs (verbose 2)', async () => {
    const m = smallNet();
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const { x, y } = blobs(12, 2);
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    await m.fit(x, y, { epochs: 4, initialEpoch: 2, batchSize: 4, verbose: 2, validationData: [x, y] });
    vi.restoreAllMocks();
    const text = out.join('');
    expect(text).toMatch(/Epoch 3\/4\n/);
    expect(text).toMatch(/Epoch 4\/4\n/);
    expect(text).not.toMatch(/Epoch 1\//);
    expect(text).toMatch(/3\/3 .*- loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}/);
  });

  it('logs val_ metrics equal to evaluate on the validation data with the final weights', async () => {
    const m = smallNet();
    m.compile({ optimizer: sgd({ learningRate: 0.2 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const train = blobs(24, 3);
    const val = blobs(9, 4);
    const h = await m.fit(train.x, train.y, { epochs: 3, batchSize: 8, verbose: 0, validationData: [val.x, val.y] });
    const ev = await m.evaluate(val.x, val.y);
    expect(h.history.val_loss).toHaveLength(3);
    expect(h.history.val_loss!.at(-1)).toBeCloseTo(ev.loss!, 5);
    expect(h.history.val_accuracy!.at(-1)).toBeCloseTo(ev.accuracy!, 6);
    expect(h.history.loss![2]!).toBeLessThan(h.history.loss![0]!);
  });

  it('reads back at most once per training step', async () => {
    const m = smallNet();
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const { x, y } = blobs(20, 5);
    const device = getDevice();
    const spy = vi.spyOn(device, 'read');
    await m.fit(x, y, { epochs: 2, batchSize: 5, verbose: 0, shuffle: false });
    expect(spy.mock.calls.length).toBeLessThanOrEqual(2 * 4);
    spy.mockClear();
    await m.fit(x, y, { epochs: 2, batchSize: 5, verbose: 0, shuffle: false, validationData: [x, y] });
    expect(spy.mock.calls.length).toBeLessThanOrEqual(2 * 4 + 2);
  });

  it('trains on an async-iterable dataset with stepsPerEpoch and disposes the batches it took', async () => {
    const m = smallNet();
    m.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const made: Batch[] = [];
    const ds = {
      length: 4,
      async *[Symbol.asyncIterator]() {
        for (let i = 0; i < 4; i++) {
          const b = blobs(6, 10 + i);
          made.push({ x: b.x, y: b.y });
          yield { x: b.x, y: b.y };
        }
      },
    };
    const steps: number[] = [];
    const h = await m.fit(ds, { epochs: 2, stepsPerEpoch: 3, verbose: 0, callbacks: [{ onBatchEnd: (b) => void steps.push(b) }] });
    expect(steps).toEqual([0, 1, 2, 0, 1, 2]);
    expect(h.history.accuracy).toHaveLength(2);
    expect(made).toHaveLength(6);
    expect(made.every((b) => b.x.isDisposed && b.y.isDisposed)).toBe(true);
    const p = await m.predict(ds);
    expect([...p.shape]).toEqual([24, 3]);
  });

  it('stops when the data runs out before stepsPerEpoch, with a warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const m = smallNet();
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const b = blobs(6, 1);
    const once = (async function* () {
      yield { x: b.x, y: b.y };
    })();
    const h = await m.fit(once, { epochs: 3, stepsPerEpoch: 2, verbose: 0 });
    expect(h.epoch).toEqual([0]);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/ran out of data after 1 of 2 steps/);
  });

  it('model.stopTraining set by a callback ends fit after that batch', async () => {
    const m = smallNet();
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const { x, y } = blobs(20, 6);
    let batches = 0;
    const h = await m.fit(x, y, {
      epochs: 5, batchSize: 5, verbose: 0,
      callbacks: [{ onBatchEnd: (b) => { batches++; if (b === 1) m.stopTraining = true; } }],
    });
    expect(batches).toBe(2);
    expect(h.epoch).toEqual([0]);
  });

  it('predict concatenates batches and equals one direct call', async () => {
    const m = smallNet();
    const { x } = blobs(10, 7);
    const p = await m.predict(x, { batchSize: 4 });
    const direct = m.apply(x);
    expectClose(await p.data(), await direct.data(), { atol: 1e-6 }, 'predict');
  });

  it('needs compile first and names a missing y', async () => {
    const m = smallNet();
    const { x, y } = blobs(3, 1);
    await expect(m.fit(x, y)).rejects.toThrow(/call compile\(\) first/);
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    await expect(m.fit(x as never)).rejects.toThrow(/y is missing/);
    expect(() => m.compile({ optimizer: 'sgd', loss: 'hinge' as 'meanSquaredError' })).toThrow(/unknown loss 'hinge'/);
  });
});
