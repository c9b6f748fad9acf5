// Exact resume: 4 epochs straight equal 2 epochs + a full checkpoint + resume with initialEpoch 2 (to 1e-6), through
// loadModel and through loadCheckpoint into a model rebuilt by code. Shuffling, dropout, augmentation, BN statistics,
// Adam slots and a step-counting learning-rate schedule all have to continue where they stopped.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneHot, tensor } from '../src/index.js';
import { setSeed } from '../src/nn/index.js';
import { callbacks, loadModel, type Model } from '../src/train/index.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';
import { resumeNet } from './helpers/resume-fixtures.js';

useDevice();

const x = () => tensor(randomValues(10 * 4 * 4 * 2, 8), [10, 4, 4, 2]);
const y = () => oneHot(tensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 0], [10], { dtype: 'int32' }), 2);
const fitArgs = { batchSize: 4, verbose: 0 as const };

async function weights(m: Model): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all([...m.namedWeights()].map(async ([k, v]) => [k, await v.read()] as const)));
}

function expectSame(a: Map<string, Float32Array>, b: Map<string, Float32Array>, tol: number): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, v] of a) expectClose(b.get(k)!, v, { atol: tol, rtol: 0 }, k);
}

describe('resume from a full checkpoint', () => {
  it('2 epochs + resume with initialEpoch 2 equals 4 epochs straight', async () => {
    const straight = resumeNet(1);
    const hs = await straight.fit(x(), y(), { ...fitArgs, epochs: 4 });
    const want = await weights(straight);

    const dir = mkdtempSync(join(tmpdir(), 'graft-resume-'));
    const first = resumeNet(1);
    await first.fit(x(), y(), { ...fitArgs, epochs: 2, callbacks: [callbacks.modelCheckpoint({ filepath: join(dir, 'ckpt-{epoch:02d}.safetensors') })] });
    const ckpt = join(dir, 'ckpt-02.safetensors');

    setSeed(12345);
    const resumed = await loadModel(ckpt);
    expect(resumed.epochsDone).toBe(2);
    const hr = await resumed.fit(x(), y(), { ...fitArgs, epochs: 4, initialEpoch: resumed.epochsDone });
    expect(hr.epoch).toEqual([2, 3]);
    expect(resumed.optimizer!.iterations).toBe(straight.optimizer!.iterations);
    expectSame(want, await weights(resumed), 1e-6);
    expect(hr.history.loss![1]).toBeCloseTo(hs.history.loss![3]!, 6);

    const rebuilt = resumeNet(99);
    const info = await rebuilt.loadCheckpoint(ckpt);
    expect(info).toEqual({ epoch: 2, iterations: 6 });
    await rebuilt.fit(x(), y(), { ...fitArgs, epochs: 4, initialEpoch: info.epoch });
    expectSame(want, await weights(rebuilt), 1e-6);
  });

  it('resuming without the optimizer state or the random stream does not match (the test can fail)', async () => {
    const straight = resumeNet(1);
    await straight.fit(x(), y(), { ...fitArgs, epochs: 4 });
    const want = await weights(straight);
    const dir = mkdtempSync(join(tmpdir(), 'graft-resume-'));
    const first = resumeNet(1);
    await first.fit(x(), y(), { ...fitArgs, epochs: 2 });
    await first.saveWeights(join(dir, 'w.safetensors'));
    const partial = resumeNet(1);
    await partial.loadWeights(join(dir, 'w.safetensors'));
    await partial.fit(x(), y(), { ...fitArgs, epochs: 4, initialEpoch: 2 });
    const got = await weights(partial);
    expect(() => expectSame(want, got, 1e-6)).toThrow(/mismatch/);
  });
});
