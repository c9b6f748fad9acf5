// A disk that fills up during a save (an injected ENOSPC through the write-fault seam of src/io/atomic-write.ts,
// and a real 64 KiB tmpfs when this machine lets the test mount one): model.save, ModelCheckpoint and the
// TensorBoard writer keep the earlier file or records bit-identical, leave no temp file, and fail with an error
// naming the file and ENOSPC. The fault fires at points the test chooses (the n-th write), never on a timer.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '../src/index.js';
import { diskFullError, setWriteFault } from '../src/node/atomic-write.js';
import { nodeFiles } from '../src/node/files.js';
import { readEvents } from '../src/node/tensorboard-files.js';
import { EventWriter, parseEvents, scalarsOf } from '../src/io/tensorboard/index.js';
import { EventFileError } from '../src/io/tensorboard/tfrecord.js';
import { layers, setSeed } from '../src/nn/index.js';
import { sgd } from '../src/train/optimizers/index.js';
import { callbacks, Callback, loadModel, sequential, type Logs, type Model } from '../src/train/index.js';
import { randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();
afterEach(() => setWriteFault(null));

const root = mkdtempSync(join(tmpdir(), 'graft-diskfull-'));
let dirs = 0;
const freshDir = () => {
  const d = join(root, `d${dirs++}`);
  mkdirSync(d);
  return d;
};
const tempFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

function net(): Model {
  setSeed(3);
  const m = sequential([layers.dense({ units: 6, activation: 'relu', inputShape: [4] }), layers.dense({ units: 2, activation: 'softmax' })]);
  m.compile({ optimizer: sgd({ learningRate: 0.1 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

function data(n: number): { x: Tensor; y: Tensor } {
  const r = randomValues(n * 4, 9);
  const lab = [...Array(n).keys()].map((i) => i % 2);
  return { x: tensor(Array.from(r).map((v, i) => v + lab[Math.floor(i / 4)]!), [n, 4]), y: tensor(lab.flatMap((l) => [1 - l, l]), [n, 2]) };
}

/** Fails every write into `dir` from the `from`-th chunk on (0-based), after letting `from` chunks through. */
function diskFullAfter(dir: string, from: number, match: (path: string) => boolean = () => true): void {
  let seen = 0;
  setWriteFault((path) => {
    if (!path.startsWith(dir) || !match(path)) return;
    if (seen++ >= from) throw diskFullError('write', path);
  });
}

describe('model.save into a full disk', () => {
  it('keeps the previous file bit-identical, removes the temp file, and names the file and ENOSPC', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.safetensors');
    const m = net();
    await m.save(path);
    const before = readFileSync(path);
    const { x, y } = data(8);
    await m.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    diskFullAfter(dir, 0);
    const err = await m.save(path).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/^Graft: writing .*model\.safetensors failed: the disk is full \(ENOSPC\); any earlier model\.safetensors is unchanged/);
    expect(err?.message).toContain(path);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(tempFiles(dir)).toEqual([]);
    setWriteFault(null);
    (await loadModel(path)).dispose();
    m.dispose();
  });
});

describe('ModelCheckpoint into a disk that fills up', () => {
  it('stops fit with the error at the failing epoch; the last good checkpoint stays bit-identical and loadable', async () => {
    const dir = freshDir();
    const path = join(dir, 'ckpt.safetensors');
    let afterFirst: Buffer | null = null;
    // NOTE: runs after ModelCheckpoint in the same epoch-end hook order, so it sees each checkpoint as written.
    class Snapshot extends Callback {
      override async onEpochEnd(epoch: number, _logs: Logs): Promise<void> {
        if (epoch === 0) {
          afterFirst = readFileSync(path);
          diskFullAfter(dir, 0);
        }
      }
    }
    const m = net();
    const { x, y } = data(8);
    const err = await m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, callbacks: [callbacks.modelCheckpoint({ filepath: path }), new Snapshot()] })
      .then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/writing .*ckpt\.safetensors failed: the disk is full \(ENOSPC\)/);
    expect(afterFirst).not.toBeNull();
    expect(readFileSync(path).equals(afterFirst!)).toBe(true);
    expect(tempFiles(dir)).toEqual([]);
    setWriteFault(null);
    const restored = await loadModel(path);
    expect(restored.epochsDone).toBe(1);
    restored.dispose();
    m.dispose();
  });
});

describe('TensorBoard event writer on a full disk', () => {
  it('an append that fails mid-file is cut back to the file as it was (all or nothing)', async () => {
    const dir = freshDir();
    const path = join(dir, 'log.bin');
    await nodeFiles.appendFile(path, new Uint8Array([1, 2, 3]));
    // NOTE: 2.5 MiB go in 1 MiB chunks; the second chunk fails, after the first reached the file.
    diskFullAfter(dir, 1);
    const err = await nodeFiles.appendFile(path, new Uint8Array(5 << 19)).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/^writing .*log\.bin failed: the disk is full \(ENOSPC\)/);
    expect(Array.from(readFileSync(path))).toEqual([1, 2, 3]);
  });

  it('a failed flush keeps the earlier records intact and the events queued for the next flush', async () => {
    const dir = freshDir();
    const w = new EventWriter(dir, { maxQueue: 100 });
    w.scalar('epoch_loss', 1.5, 0);
    await w.flush();
    const good = readFileSync(w.path);
    w.scalar('epoch_loss', 1.25, 1);
    w.scalar('epoch_loss', 1.0, 2);
    diskFullAfter(dir, 0);
    await expect(w.flush()).rejects.toThrow(EventFileError);
    const message = await w.flush().then(() => '', (e: Error) => e.message);
    expect(message).toMatch(/^Graft EventWriter: writing .*events\.out\.tfevents.* failed: the disk is full \(ENOSPC\); 2 event\(s\) kept for the next flush/);
    expect(readFileSync(w.path).equals(good)).toBe(true);
    expect(scalarsOf(parseEvents(readFileSync(w.path))).map((s) => s.value)).toEqual([1.5]);
    setWriteFault(null);
    await w.close();
    expect(scalarsOf(readEvents(w.path)).map((s) => [s.step, s.value])).toEqual([[0, 1.5], [1, 1.25], [2, 1.0]]);
  });

  it('a writer that cannot write its file header fails its first flush with the same error', async () => {
    const dir = freshDir();
    diskFullAfter(dir, 0);
    const w = new EventWriter(dir);
    await expect(w.flush()).rejects.toThrow(/^Graft EventWriter: writing .*events\.out\.tfevents.* failed: the disk is full \(ENOSPC\)/);
  });

  it('in fit, a failed event write stops training with the error (not silently); earlier epochs stay readable', async () => {
    const logDir = freshDir();
    class FillDisk extends Callback {
      override async onEpochBegin(epoch: number): Promise<void> {
        if (epoch === 1) diskFullAfter(logDir, 0);
      }
    }
    const m = net();
    const { x, y } = data(8);
    const err = await m.fit(x, y, { epochs: 3, batchSize: 4, verbose: 0, callbacks: [new FillDisk(), callbacks.tensorBoard({ logDir })] })
      .then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(EventFileError);
    expect(err?.message).toMatch(/train.events\.out\.tfevents.* failed: the disk is full \(ENOSPC\)/);
    setWriteFault(null);
    const trainDir = join(logDir, 'train');
    const events = readEvents(join(trainDir, readdirSync(trainDir)[0]!));
    expect(scalarsOf(events).filter((s) => s.tag === 'epoch_loss').map((s) => s.step)).toEqual([0]);
    m.dispose();
  });
});

describe('a real full disk (64 KiB tmpfs; needs root and mount)', () => {
  const mnt = join(root, 'tmpfs');
  mkdirSync(mnt);
  let mounted = false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
    mounted = true;
  } catch (e) {
    console.log(`disk-full.test: tmpfs case skipped, cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]})`);
  }
  afterAll(() => {
    if (mounted) execFileSync('umount', [mnt]);
    rmSync(root, { recursive: true, force: true });
  });

  it.skipIf(!mounted)('model.save gets ENOSPC from the kernel; the previous file survives and no temp file is left', async () => {
    const path = join(mnt, 'model.safetensors');
    const m = net();
    await m.save(path);
    const before = readFileSync(path);
    // NOTE: fill what is left of the 64 KiB, so that the next save cannot fit its temp file.
    let filler = 0;
    try {
      for (;;) writeFileSync(join(mnt, `fill${filler++}`), new Uint8Array(4096));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    const err = await m.save(path).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/writing .*model\.safetensors failed: the disk is full \(ENOSPC\)/);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(tempFiles(mnt)).toEqual([]);
    m.dispose();
  });
});
