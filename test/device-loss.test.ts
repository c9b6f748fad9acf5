// Device-loss recovery inside fit: a device destroyed mid-epoch (GPUDevice.destroy() through Device.loseForTest, at a
// batch the test picks) is replaced, the model's weights and Adam slots are re-created on the new device from the
// last host copy, and fit ends with the weights of an uninterrupted run; a second loss soon after ends fit naming
// the backup; the progress output says what happened.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { oneHot, tensor } from '../src/index.js';
import { callbacks, type Model } from '../src/train/index.js';
import type { FitArgs } from '../src/train/fit-loop.js';
import { DeviceLostError } from '../src/train/device-recovery.js';
import { getDevice, init } from '../src/tensor/engine.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';
import { resumeNet, shuffledBatches } from './helpers/resume-fixtures.js';

useDevice();
// NOTE: a fit that gives up leaves the default device lost; init() replaces a lost one.
beforeEach(async () => void (await init()));
afterEach(() => void vi.restoreAllMocks());

// NOTE: no flip and a constant rate: the recovery is checked on the plainest model that has BN and Adam slots.
const DEVICE_LOSS_NET = { flip: false, learningRate: 0.05 };
const N = 12;
const X = randomValues(N * 32, 21);
const LABELS = [0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0];
const EPOCHS = 3;


/** Destroys the current device at the end of batch `batch` of epoch `epoch`, `times` times (replays count again). */
function loseAt(epoch: number, batch: number, times = 1) {
  let current = -1;
  let left = times;
  return {
    onEpochBegin: (e: number) => void (current = e),
    onBatchEnd: (b: number) => {
      if (current === epoch && b === batch && left-- > 0) getDevice().loseForTest();
    },
  };
}

async function weights(m: Model): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all([...m.namedWeights()].map(async ([k, v]) => [k, await v.read()] as const)));
}

async function fitStraight(): Promise<Map<string, Float32Array>> {
  const m = resumeNet(1, DEVICE_LOSS_NET);
  await m.fit(shuffledBatches(X, LABELS, 3, 500), { epochs: EPOCHS, verbose: 0 });
  return weights(m);
}

function expectSame(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, v] of a) expectClose(b.get(k)!, v, { atol: 0, rtol: 0 }, k);
}

function captureStdout(): string[] {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  return out;
}

describe('device-loss recovery in fit', () => {
  it('a device destroyed mid-epoch: fit finishes on a new device with the weights of an uninterrupted run', async () => {
    const want = await fitStraight();
    const m = resumeNet(1, DEVICE_LOSS_NET);
    const before = getDevice();
    // NOTE: host copies every 2 batches: the last before the loss (epoch 2, batch index 2) is after batch index 1, so one batch is replayed.
    const h = await m.fit(shuffledBatches(X, LABELS, 3, 500), { epochs: EPOCHS, verbose: 0, recoverDeviceLoss: { saveFreq: 2 }, callbacks: [loseAt(1, 2)] });
    expect(before.isLost).toBe(true);
    expect(getDevice()).not.toBe(before);
    expect(getDevice().isLost).toBe(false);
    for (const v of m.namedWeights().values()) expect(v.value.device).toBe(getDevice());
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(m.optimizer!.iterations).toBe(EPOCHS * 4);
    expectSame(want, await weights(m));
  });

  it('a GPUDevice destroyed behind Graft\'s back (as a driver reset) is seen at the next readback; the first host copy is taken at the start', async () => {
    const want = await fitStraight();
    const m = resumeNet(1, DEVICE_LOSS_NET);
    let epoch = -1;
    let done = false;
    const reset = {
      onEpochBegin: (e: number) => void (epoch = e),
      onBatchEnd: (b: number) => {
        if (epoch === 0 && b === 1 && !done) (done = true, getDevice().gpu.destroy());
      },
    };
    const h = await m.fit(shuffledBatches(X, LABELS, 3, 500), { epochs: EPOCHS, verbose: 0, recoverDeviceLoss: true, callbacks: [reset] });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(m.optimizer!.iterations).toBe(EPOCHS * 4);
    expectSame(want, await weights(m));
  });

  it('the progress output says the device was lost and which backup was restored (epoch host copy by default)', async () => {
    const want = await fitStraight();
    const m = resumeNet(1, DEVICE_LOSS_NET);
    const out = captureStdout();
    await m.fit(shuffledBatches(X, LABELS, 3, 500), { epochs: EPOCHS, verbose: 2, recoverDeviceLoss: true, callbacks: [loseAt(1, 2)] });
    vi.restoreAllMocks();
    const text = out.join('');
    expect(text).toContain('GPU device lost (destroyed: lost on purpose by loseForTest()); restored epoch 2 step 0 from the in-memory backup on a new device\n');
    expect(text.match(/Epoch 2\/3\n/g)).toHaveLength(2);
    expectSame(want, await weights(m));
  });

  it('a second loss within the window ends fit with an error naming the in-memory backup', async () => {
    const m = resumeNet(1, DEVICE_LOSS_NET);
    const run = m.fit(shuffledBatches(X, LABELS, 3, 500), { epochs: EPOCHS, verbose: 0, recoverDeviceLoss: { saveFreq: 2 }, callbacks: [loseAt(1, 2, 2)] });
    await expect(run).rejects.toThrow(DeviceLostError);
    await expect(run).rejects.toThrow(
      'lost again (destroyed: lost on purpose by loseForTest()) 1 batch after the last recovery (window: 4); stopping. ' +
        'Resume from the in-memory backup at epoch 2 step 3; re-run with backupAndRestore({backupDir}) to keep it on disk',
    );
  });

  it('with a BackupAndRestore callback, its store is the host copy and the fatal error names its file', async () => {
    const backupDir = join(mkdtempSync(join(tmpdir(), 'graft-devloss-')), 'b');
    const m = resumeNet(1, DEVICE_LOSS_NET);
    const bar = callbacks.backupAndRestore({ backupDir, saveFreq: 3 });
    const run = m.fit(shuffledBatches(X, LABELS, 3, 500), { epochs: EPOCHS, verbose: 0, recoverDeviceLoss: { window: 2 }, callbacks: [bar, loseAt(2, 0), loseAt(2, 1)] });
    // NOTE: 4 batches per epoch, a backup every 3: the one after global batch 9 (epoch 3 step 1) is restored, and kept.
    await expect(run).rejects.toThrow(`Resume from ${join(backupDir, 'backup.safetensors')} (epoch 3 step 1): run fit again with the same backupAndRestore callback`);
    expect(existsSync(join(backupDir, 'backup.safetensors'))).toBe(true);
  });

  it('fit on tensors with recoverDeviceLoss fails up front naming the reason', async () => {
    const m = resumeNet(1, DEVICE_LOSS_NET);
    const x = tensor(X, [N, 4, 4, 2]);
    const y = oneHot(tensor(LABELS, [N], { dtype: 'int32' }), 2);
    const args: FitArgs = { verbose: 0, recoverDeviceLoss: true };
    await expect(m.fit(x, y, args)).rejects.toThrow('recoverDeviceLoss needs a Dataset for x (and validationData)');
  });
});
