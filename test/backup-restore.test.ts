// BackupAndRestore: a fit that crashes (an error thrown from a batch, standing in for a kill) and is started again
// with the same callback ends with the same weights as an uninterrupted fit (to 1e-6): weights, Adam slots and
// iterations, a step-counting schedule, the random stream (shuffles, dropout, flips) and the data order (a shuffled
// dataset's epoch counter, batches consumed mid-epoch) all continue where the last backup left them.

import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneHot, tensor } from '../src/index.js';
import { Dataset } from '../src/data/index.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { callbacks, model, type History, type Model } from '../src/train/index.js';
import type { Batch } from '../src/train/data-adapter.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';
import { resumeNet, shuffledBatches } from './helpers/resume-fixtures.js';

useDevice();

const N = 10;
const X = randomValues(N * 4 * 4 * 2, 8);
const LABELS = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0];
const x = () => tensor(X, [N, 4, 4, 2]);
const y = () => oneHot(tensor(LABELS, [N], { dtype: 'int32' }), 2);
const EPOCHS = 4;
const fitArgs = { batchSize: 4, verbose: 0 as const, epochs: EPOCHS };


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
  const straight = resumeNet(1);
  const hs = await fit(straight, []);
  const want = await weights(straight);
  const backupDir = join(mkdtempSync(join(tmpdir(), 'graft-backup-')), 'backup');
  const run = freshData();
  for (const [i, at] of crashes.entries()) {
    // NOTE: the first attempt starts as the straight run did; later ones use other seeds: only the backup carries state over.
    await expect(run(resumeNet(i === 0 ? 1 : 50 + at), [callbacks.backupAndRestore({ backupDir, saveFreq }), crashAt(at)])).rejects.toThrow(`crash at batch ${at}`);
    expect(existsSync(join(backupDir, 'backup.safetensors'))).toBe(true);
  }
  const last = resumeNet(99);
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
    const r = await crashAndRestart(onDataset(shuffledBatches(X, LABELS, 3, 1000)), () => onDataset(shuffledBatches(X, LABELS, 3, 1000)), 2, [7]);
    expect(r.restored).toMatchObject({ epoch: 1, step: 2, dataOrder: 1 });
    expectSame(r.want, r.got, 1e-6);
    // NOTE: the resumed epoch's logs cover its batches from before the backup too (their running sums are backed up).
    expect(r.hr.epoch).toEqual([1, 2, 3]);
    for (const k of ['loss', 'accuracy']) expectClose(r.hr.history[k]!, r.hs.history[k]!.slice(1), { atol: 1e-6, rtol: 1e-5 }, k);
  });

  it('deleteCheckpoint: false keeps the backup; a later fit of the same length restores it and trains no further', async () => {
    const backupDir = join(mkdtempSync(join(tmpdir(), 'graft-backup-')), 'b');
    const m = resumeNet(1);
    await m.fit(x(), y(), { ...fitArgs, callbacks: [callbacks.backupAndRestore({ backupDir, deleteCheckpoint: false })] });
    expect(existsSync(join(backupDir, 'backup.safetensors'))).toBe(true);
    const again = resumeNet(2);
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
    await expect(resumeNet(1).fit(x(), y(), { ...fitArgs, callbacks: [callbacks.backupAndRestore({ backupDir: join(dir, 'bad') })] }))
      .rejects.toThrow(join(dir, 'bad', 'backup.safetensors'));
    const other = join(dir, 'other');
    const small = resumeNet(1);
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
    await expect(resumeNet(1).fit(x(), y(), { ...fitArgs, callbacks: [...cbs(), crashAt(8)] })).rejects.toThrow('crash at batch 8');
    const rows = () => readFileSync(filename, 'utf8').trim().split('\n').map((l) => l.split(',')[0]);
    expect(rows()).toEqual(['epoch', '0', '1']);
    await resumeNet(2).fit(x(), y(), { ...fitArgs, callbacks: cbs() });
    expect(rows()).toEqual(['epoch', '0', '1', '2', '3']);
  });
});
