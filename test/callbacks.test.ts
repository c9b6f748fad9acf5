// Callbacks: ModelCheckpoint (formatting, best-only with modes and thresholds, saveFreq across epochs, missing key),
// EarlyStopping with restoreBestWeights, ReduceLROnPlateau, CSVLogger, TerminateOnNaN, TensorBoard files, custom hooks.

import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tensor, type Tensor } from '../src/index.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { callbacks, Callback, loadModel, model, sequential, type Logs, type Model } from '../src/train/index.js';
import { sgd } from '../src/train/optimizers/index.js';
import { scalarsOf } from '../src/io/tensorboard/index.js';
import { readEvents } from '../src/node/tensorboard-files.js';
import { randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();
afterEach(() => vi.restoreAllMocks());

const tmp = () => mkdtempSync(join(tmpdir(), 'graft-cb-'));

function net(): Model {
  setSeed(3);
  const m = sequential([layers.dense({ units: 6, activation: 'relu', inputShape: [4] }), layers.dense({ units: 2, activation: 'softmax' })]);
  m.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

function data(n: number, seed: number): { x: Tensor; y: Tensor } {
  const r = randomValues(n * 4, seed);
  const lab = [...Array(n).keys()].map((i) => i % 2);
  return { x: tensor(Array.from(r).map((v, i) => v + lab[Math.floor(i / 4)]!), [n, 4]), y: tensor(lab.flatMap((l) => [1 - l, l]), [n, 2]) };
}

/** Drives a callback's epoch-end hook with given logs, as fit would. */
async function epochs(cb: Callback, m: Model, logs: Logs[]): Promise<void> {
  cb.setModel(m);
  await cb.onTrainBegin({});
  for (const [e, l] of logs.entries()) {
    await cb.onEpochBegin(e, {});
    await cb.onEpochEnd(e, l);
  }
}

describe('ModelCheckpoint', () => {
  it('formats {epoch:02d} and {val_loss:.2f} from the epoch logs', async () => {
    const dir = tmp();
    const m = net();
    const { x, y } = data(8, 1);
    const cb = callbacks.modelCheckpoint({ filepath: join(dir, 'w-{epoch:02d}-{val_loss:.2f}.safetensors'), saveWeightsOnly: true });
    const h = await m.fit(x, y, { epochs: 3, initialEpoch: 1, batchSize: 4, verbose: 0, validationData: [x, y], callbacks: [cb] });
    const want = h.history.val_loss!.map((v, i) => `w-0${i + 2}-${v.toFixed(2)}.safetensors`);
    expect(readdirSync(dir).sort()).toEqual(want.sort());
  });

  it('saveBestOnly saves on improvement only; mode auto is max for accuracy keys; initialValueThreshold is the first bar', async () => {
    const dir = tmp();
    const m = net();
    const minCb = callbacks.modelCheckpoint({ filepath: join(dir, 'a{epoch}.safetensors'), saveBestOnly: true, saveWeightsOnly: true });
    await epochs(minCb, m, [{ val_loss: 0.5 }, { val_loss: 0.6 }, { val_loss: 0.4 }, { val_loss: 0.4 }]);
    expect(minCb.saved.map((p) => p.slice(dir.length + 1))).toEqual(['a1.safetensors', 'a3.safetensors']);
    const maxCb = callbacks.modelCheckpoint({ filepath: join(dir, 'b{epoch}.safetensors'), monitor: 'val_accuracy', saveBestOnly: true, saveWeightsOnly: true });
    expect(maxCb.mode).toBe('max');
    await epochs(maxCb, m, [{ val_accuracy: 0.5 }, { val_accuracy: 0.4 }, { val_accuracy: 0.7 }]);
    expect(maxCb.saved.map((p) => p.slice(dir.length + 1))).toEqual(['b1.safetensors', 'b3.safetensors']);
    const thr = callbacks.modelCheckpoint({ filepath: join(dir, 'c{epoch}.safetensors'), saveBestOnly: true, saveWeightsOnly: true, initialValueThreshold: 0.45 });
    await epochs(thr, m, [{ val_loss: 0.5 }, { val_loss: 0.44 }]);
    expect(thr.saved.map((p) => p.slice(dir.length + 1))).toEqual(['c2.safetensors']);
    const forcedMin = callbacks.modelCheckpoint({ filepath: join(dir, 'd{epoch}.safetensors'), monitor: 'val_accuracy', mode: 'min', saveBestOnly: true, saveWeightsOnly: true });
    await epochs(forcedMin, m, [{ val_accuracy: 0.5 }, { val_accuracy: 0.7 }]);
    expect(forcedMin.saved).toHaveLength(1);
  });

  it('warns once and skips when the monitored key is missing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const dir = tmp();
    const cb = callbacks.modelCheckpoint({ filepath: join(dir, 'x{epoch}.safetensors'), saveBestOnly: true });
    await epochs(cb, net(), [{ loss: 1 }, { loss: 0.5 }]);
    expect(cb.saved).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/'val_loss'.*available metrics are: loss/);
  });

  it('saveFreq N counts batches across epochs; saveWeightsOnly false writes a loadable model', async () => {
    const dir = tmp();
    const m = net();
    const { x, y } = data(12, 2);
    const cb = callbacks.modelCheckpoint({ filepath: join(dir, 'e{epoch}-b{batch}.safetensors'), saveFreq: 2 });
    await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, shuffle: false, callbacks: [cb] });
    expect(cb.saved.map((p) => p.slice(dir.length + 1))).toEqual(['e1-b2.safetensors', 'e2-b1.safetensors', 'e2-b3.safetensors']);
    const loaded = await loadModel(cb.saved.at(-1)!);
    const want = await m.predict(x);
    const got = await loaded.predict(x);
    expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
  });
});

describe('EarlyStopping', () => {
  it('stops after patience epochs without improvement and restores the best weights', async () => {
    const m = net();
    const k = m.weights[0]!;
    const cb = callbacks.earlyStopping({ patience: 2, restoreBestWeights: true });
    cb.setModel(m);
    await cb.onTrainBegin({});
    const vals = [1.0, 0.5, 0.7, 0.8];
    let best: Float32Array | null = null;
    for (const [e, v] of vals.entries()) {
      k.write(Float32Array.from({ length: k.value.size }, () => e));
      if (e === 1) best = await k.read();
      await cb.onEpochEnd(e, { val_loss: v });
      if (e < 3) expect(m.stopTraining, `epoch ${e}`).toBe(false);
    }
    expect(m.stopTraining).toBe(true);
    expect(cb.stoppedEpoch).toBe(3);
    expect(cb.bestEpoch).toBe(1);
    expect(await k.read()).toEqual(best);
  });

  it('stops a real fit early (monitor loss, minDelta larger than any change)', async () => {
    const m = net();
    const { x, y } = data(8, 3);
    const h = await m.fit(x, y, { epochs: 10, batchSize: 8, verbose: 0, callbacks: [callbacks.earlyStopping({ monitor: 'loss', minDelta: 10, patience: 1 })] });
    expect(h.epoch).toEqual([0, 1]);
  });
});

describe('ReduceLROnPlateau', () => {
  it('multiplies the rate by factor after patience epochs without improvement, then cools down', async () => {
    const m = net();
    const cb = callbacks.reduceLROnPlateau({ factor: 0.5, patience: 2, cooldown: 1, minLr: 0.02 });
    const logs = [1, 1, 1, 1, 1, 1, 1].map((v) => ({ val_loss: v }));
    const rates: number[] = [];
    cb.setModel(m);
    await cb.onTrainBegin({});
    for (const [e, l] of logs.entries()) {
      await cb.onEpochEnd(e, l);
      rates.push(m.optimizer!.learningRate as number);
    }
    // NOTE: Keras' trace: the cooldown epoch resets wait, and the next epoch already counts again.
    expect(rates).toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02]);
    expect(logs[3]!).toHaveProperty('learning_rate', 0.05);
    await cb.onEpochEnd(7, { val_loss: 0.5 });
    for (let e = 8; e < 12; e++) await cb.onEpochEnd(e, { val_loss: 0.5 });
    expect(m.optimizer!.learningRate).toBe(0.02);
  });
});

describe('CSVLogger and TerminateOnNaN', () => {
  it('writes epoch rows with sorted keys and appends without a second header', async () => {
    const file = join(tmp(), 'log.csv');
    const m = net();
    const { x, y } = data(8, 4);
    await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, callbacks: [callbacks.csvLogger({ filename: file })] });
    await m.fit(x, y, { epochs: 3, initialEpoch: 2, batchSize: 4, verbose: 0, callbacks: [callbacks.csvLogger({ filename: file, append: true })] });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('epoch,accuracy,loss');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['0', '1', '2']);
    expect(lines.slice(1).every((l) => l.split(',').length === 3 && l.split(',').slice(1).every((v) => Number.isFinite(Number(v))))).toBe(true);
  });

  it('stops at the first batch with a NaN loss', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const x = input({ shape: [2] });
    const m = model({ inputs: x, outputs: layers.activation({ activation: 'linear' }).apply(x) });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const y = tensor([0, 0, 0, 0, NaN, 0, 0, 0], [4, 2]);
    let batches = 0;
    await m.fit(tensor([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]), y, {
      epochs: 3, batchSize: 1, shuffle: false, verbose: 0,
      callbacks: [callbacks.terminateOnNaN(), { onBatchEnd: () => void batches++ }],
    });
    expect(batches).toBe(3);
  });
});

describe('TensorBoard', () => {
  it('writes epoch scalars to train and validation runs and batch scalars every N batches, readable back with CRCs checked', async () => {
    const dir = tmp();
    const m = net();
    const { x, y } = data(12, 5);
    await m.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, validationData: [x, y], callbacks: [callbacks.tensorBoard({ logDir: dir, updateFreq: 2 })] });
    const one = (run: string) => {
      const files = readdirSync(join(dir, run)).filter((f) => f.startsWith('events.out.tfevents.'));
      expect(files).toHaveLength(1);
      return scalarsOf(readEvents(join(dir, run, files[0]!)));
    };
    const train = one('train');
    const val = one('validation');
    const tagSteps = (s: typeof train, tag: string) => s.filter((e) => e.tag === tag).map((e) => e.step);
    expect(tagSteps(train, 'epoch_loss')).toEqual([0, 1]);
    expect(tagSteps(train, 'epoch_accuracy')).toEqual([0, 1]);
    expect(tagSteps(train, 'batch_loss')).toEqual([2, 4, 6]);
    expect(tagSteps(val, 'epoch_loss')).toEqual([0, 1]);
    expect(existsSync(join(dir, 'validation'))).toBe(true);
    expect(train.find((e) => e.tag === 'epoch_loss' && e.step === 1)!.value).toBeCloseTo(m.history!.history.loss![1]!, 6);
  });
});

describe('custom callbacks', () => {
  it('run their hooks in Keras order, as Callback subclasses or plain objects', async () => {
    const calls: string[] = [];
    class Recorder extends Callback {
      override async onTrainBegin() { calls.push('trainBegin'); }
      override async onEpochBegin(e: number) { calls.push(`epochBegin ${e}`); }
      override async onBatchEnd(b: number, l: Logs) { calls.push(`batchEnd ${b} ${'loss' in l}`); }
      override async onTestEnd(l: Logs) { calls.push(`testEnd ${Object.keys(l).join('|')}`); }
      override async onEpochEnd(e: number, l: Logs) { calls.push(`epochEnd ${e} ${Object.keys(l).sort().join('|')}`); }
      override async onTrainEnd() { calls.push('trainEnd'); }
    }
    const m = net();
    const { x, y } = data(8, 6);
    await m.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0, validationData: [x, y], callbacks: [new Recorder(), { onBatchBegin: (b) => void calls.push(`plain ${b}`) }] });
    expect(calls).toEqual([
      'trainBegin', 'epochBegin 0', 'plain 0', 'batchEnd 0 true', 'plain 1', 'batchEnd 1 true',
      'testEnd val_loss|val_accuracy', 'epochEnd 0 accuracy|loss|val_accuracy|val_loss', 'trainEnd',
    ]);
  });
});
