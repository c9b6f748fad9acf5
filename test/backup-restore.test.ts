// BackupAndRestore: a fit that crashes (an error thrown from a batch, standing in for a kill) and is started again
// with the same callback ends with the same weights as an uninterrupted fit (to 1e-6): weights, Adam slots and
// iterations, a step-counting schedule, the random stream (shuffles, dropout, flips) and the data order (a shuffled
// dataset's epoch counter, batches consumed mid-epoch) all continue where the last backup left them.

import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneHot, tensor } from '../src/index.js';
import { Dataset, type DatasetSource } from '../src/data/index.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { callbacks, model, type History, type Model } from '../src/train/index.js';
import type { Batch } from '../src/train/data-adapter.js';
import { adam } from '../src/train/optimizers/index.js';
import { exponentialDecay } from '../src/train/schedules.js';
import { rng } from '../src/tensor/tensor.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

function build(seed: number): Model {
  setSeed(seed);
  const x = input({ shape: [4, 4, 2] });
  let h = layers.randomFlip({ mode: 'horizontal' }).apply(x);
  h = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'conv' }).apply(h);
  h = layers.batchNormalization({ name: 'bn' }).apply(h);
  h = layers.activation({ activation: 'relu' }).apply(h);
  h = layers.globalAveragePooling2d().apply(h);
  h = layers.dropout({ rate: 0.3 }).apply(h);
  const m = model({ inputs: x, outputs: layers.dense({ units: 2, activation: 'softmax', name: 'head' }).apply(h) });
  m.compile({
    optimizer: adam({ learningRate: exponentialDecay({ initialLearningRate: 0.05, decaySteps: 3, decayRate: 0.5 }) }),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return m;
}

const N = 10;
const X = randomValues(N * 4 * 4 * 2, 8);
const LABELS = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0];
const x = () => tensor(X, [N, 4, 4, 2]);
const y = () => oneHot(tensor(LABELS, [N], { dtype: 'int32' }), 2);
const EPOCHS = 4;
const fitArgs = { batchSize: 4, verbose: 0 as const, epochs: EPOCHS };

/** An in-memory dataset of batches of 3, reshuffled every epoch from (seed, epoch) like image datasets are. */
function shuffledDataset(): Dataset<Batch> {
  const source: DatasetSource<Batch> = {
    length: Math.ceil(N / 3),
    classNames: ['a', 'b'],
    filePaths: [],
    epoch: 0,
    async *iterate() {
      const r = rng(1000 + source.epoch++);
      const order = [...Array(N).keys()];
      for (let i = N - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (let s = 0; s < N; s += 3) {
        const rows = order.slice(s, s + 3);
        const xs = rows.flatMap((k) => [...X.subarray(k * 32, (k + 1) * 32)]);
        yield { x: tensor(xs, [rows.length, 4, 4, 2]), y: oneHot(tensor(rows.map((k) => LABELS[k]!), [rows.length], { dtype: 'int32' }), 2) };
      }
    },
    cached: () => source,
  };
  return new Dataset<Batch>(source);
}

async function weights(m: Model): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all([...m.namedWeights()].map(async ([k, v]) => [k, await v.read()] as const)));
}

function expectSame(a: Map<string, Float32Array>, b: Map<string, Float32Array>, tol: number): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, v] of a) expectClose(b.get(k)!, v, { atol: tol, rtol: 0 }, k);
}

/** Throws at the start of the `at`-th batch (1-based, counted across epochs): a crash mid-training. */
function crashAt(at: number) {
  let n = 0;
  return { onBatchBegin: () => { if (++n === at) throw new Error(`crash at batch ${at}`); } };
}

type Fit = (m: Model, cbs: (callbacks.Callback | { onBatchBegin: () => void })[]) => Promise<History>;
const onTensors: Fit = (m, cbs) => m.fit(x(), y(), { ...fitArgs, callbacks: cbs });
const onDataset = (ds: Dataset<Batch>): Fit => (m, cbs) => m.fit(ds, { ...fitArgs, callbacks: cbs });

/** The uninterrupted run's weights, and the weights of runs that crash at each of `crashes` and restart. */
async function crashAndRestart(fit: Fit, freshData: () => Fit, saveFreq: 'epoch' | number, crashes: number[]) {
  const straight = build(1);
  const hs = await fit(straight, []);
  const want = await weights(straight);
  const backupDir = join(mkdtempSync(join(tmpdir(), 'graft-backup-')), 'backup');
  const run = freshData();
  for (const [i, at] of crashes.entries()) {
    // NOTE: the first attempt starts as the straight run did; later ones use other seeds: only the backup carries state over.
    await expect(run(build(i === 0 ? 1 : 50 + at), [callbacks.backupAndRestore({ backupDir, saveFreq }), crashAt(at)])).rejects.toThrow(`crash at batch ${at}`);
    expect(existsSync(join(backupDir, 'backup.safetensors'))).toBe(true);
  }
  const last = build(99);
  const bar = callbacks.backupAndRestore({ backupDir, saveFreq });
  const hr = await run(last, [bar]);
  return { want, got: await weights(last), restored: bar.restored, backupDir, straight, last, hs, hr };
}

describe('BackupAndRestore', () => {
  it('epoch backups: a crash mid-epoch 3 and a restart end with the weights of an uninterrupted fit; the backup is deleted at the end', async () => {
    const r = await crashAndRestart(onTensors, () => onTensors, 'epoch', [8]);
    expect(r.restored).toMatchObject({ epoch: 2, step: 0 });
    expect(r.last.optimizer!.iterations).toBe(r.straight.optimizer!.iterations);
    expect(r.last.epochsDone).toBe(EPOCHS);
    expectSame(r.want, r.got, 1e-6);
    expect(existsSync(r.backupDir)).toBe(false);
  });

  it('step backups (every 2 batches, across epoch ends): crashes mid-epoch, twice, still end with the same weights', async () => {
    // NOTE: 3 batches per epoch; the first attempt crashes at batch 6 and resumes from the backup after batch 4 (epoch
    // 1, step 1); the second crashes 5 batches later and resumes from global batch 8 (epoch 2, step 2): both
    // mid-epoch, on a shuffled order drawn from the random stream.
    const r = await crashAndRestart(onTensors, () => onTensors, 2, [6, 5]);
    expect(r.restored).toMatchObject({ epoch: 2, step: 2 });
    expectSame(r.want, r.got, 1e-6);
  });

  it('a shuffled dataset continues its order: the epoch counter and the batches consumed come from the backup', async () => {
    const r = await crashAndRestart(onDataset(shuffledDataset()), () => onDataset(shuffledDataset()), 2, [7]);
    expect(r.restored).toMatchObject({ epoch: 1, step: 2, dataOrder: 1 });
    expectSame(r.want, r.got, 1e-6);
    // NOTE: the resumed epoch's logs cover its batches from before the backup too (their running sums are backed up).
    expect(r.hr.epoch).toEqual([1, 2, 3]);
    for (const k of ['loss', 'accuracy']) expectClose(r.hr.history[k]!, r.hs.history[k]!.slice(1), { atol: 1e-6, rtol: 1e-5 }, k);
  });

  it('deleteCheckpoint: false keeps the backup; a later fit of the same length restores it and trains no further', async () => {
    const backupDir = join(mkdtempSync(join(tmpdir(), 'graft-backup-')), 'b');
    const m = build(1);
    await m.fit(x(), y(), { ...fitArgs, callbacks: [callbacks.backupAndRestore({ backupDir, deleteCheckpoint: false })] });
    expect(existsSync(join(backupDir, 'backup.safetensors'))).toBe(true);
    const again = build(2);
    const bar = callbacks.backupAndRestore({ backupDir, deleteCheckpoint: false });
    const h = await again.fit(x(), y(), { ...fitArgs, callbacks: [bar] });
    expect(bar.restored).toMatchObject({ epoch: EPOCHS, step: 0 });
    expect(h.epoch).toEqual([]);
    expectSame(await weights(m), await weights(again), 0);
  });

  it('a file that is not a backup, or a backup of another model, is refused with a message naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-backup-'));
    mkdirSync(join(dir, 'bad'));
    writeFileSync(join(dir, 'bad', 'backup.safetensors'), 'not a safetensors file');
    await expect(build(1).fit(x(), y(), { ...fitArgs, callbacks: [callbacks.backupAndRestore({ backupDir: join(dir, 'bad') })] }))
      .rejects.toThrow(join(dir, 'bad', 'backup.safetensors'));
    const other = join(dir, 'other');
    const small = build(1);
    await small.fit(x(), y(), { ...fitArgs, epochs: 1, callbacks: [callbacks.backupAndRestore({ backupDir: other, deleteCheckpoint: false })] });
    setSeed(1);
    const i = input({ shape: [4, 4, 2] });
    const m2 = model({ inputs: i, outputs: layers.dense({ units: 2, name: 'head' }).apply(layers.globalAveragePooling2d().apply(i)) });
    m2.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    await expect(m2.fit(x(), y(), { ...fitArgs, callbacks: [callbacks.backupAndRestore({ backupDir: other })] }))
      .rejects.toThrow(/backup\.safetensors/);
    expect(() => callbacks.backupAndRestore({ backupDir: dir, saveFreq: 0 })).toThrow(/saveFreq must be 'epoch' or a positive integer, got 0/);
  });
  it('csvLogger with append: a crashed and restarted fit leaves each epoch once in the CSV file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graft-backup-'));
    const backupDir = join(dir, 'backup');
    const filename = join(dir, 'log.csv');
    const cbs = () => [callbacks.csvLogger({ filename, append: true }), callbacks.backupAndRestore({ backupDir, saveFreq: 2 })];
    // NOTE: epochs 0 and 1 end (rows 0, 1); the crash at batch 8 (epoch 2) resumes from the backup after batch 6.
    await expect(build(1).fit(x(), y(), { ...fitArgs, callbacks: [...cbs(), crashAt(8)] })).rejects.toThrow('crash at batch 8');
    const rows = () => readFileSync(filename, 'utf8').trim().split('\n').map((l) => l.split(',')[0]);
    expect(rows()).toEqual(['epoch', '0', '1']);
    await build(2).fit(x(), y(), { ...fitArgs, callbacks: cbs() });
    expect(rows()).toEqual(['epoch', '0', '1', '2', '3']);
  });
});
