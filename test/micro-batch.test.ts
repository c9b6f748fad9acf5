// Micro-batching: with the buffer limit lowered (BufferPool.setLimit) below a batch's largest activation, fit,
// evaluate and predict split the batch instead of failing. Without batch statistics the result equals the
// full-batch run (float rounding aside); with BatchNormalization in training mode it runs and trains (each slice
// uses its own statistics, see the Porting note in src/train/micro-batch.ts). A batch where not even one example
// fits fails with an error naming the op, the tensor shape, its size, the limit and what fits.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { getDevice, memory, tensor, type Tensor } from '../src/index.js';
import { GpuMemoryError } from '../src/gpu/buffer-pool.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { model, type Model } from '../src/train/index.js';
import { adam } from '../src/train/optimizers/index.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();
afterEach(() => device().pool.setLimit(null));

const N = 8;
/** [N,4,4,2] inputs (512 bytes); the 1x1 conv's [N,4,4,16] output is 8 KiB at batch 8, 1 KiB per example. */
function convNet(withBn: boolean, filters = 16): Model {
  setSeed(11);
  const x = input({ shape: [4, 4, 2] });
  let h = layers.conv2d({ filters, kernelSize: 1, activation: withBn ? 'linear' : 'relu' }).apply(x);
  if (withBn) h = layers.activation({ activation: 'relu' }).apply(layers.batchNormalization().apply(h));
  h = layers.globalAveragePooling2d().apply(h);
  const m = model({ inputs: x, outputs: layers.dense({ units: 3, activation: 'softmax' }).apply(h) });
  m.compile({ optimizer: adam({ learningRate: 0.05 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

function data(): { x: Tensor; y: Tensor } {
  const labels = Array.from({ length: N }, (_, i) => i % 3);
  const x = tensor(Array.from(randomValues(N * 32, 5), (v, i) => v + labels[Math.floor(i / 32)]!), [N, 4, 4, 2]);
  return { x, y: tensor(labels.flatMap((l) => [0, 1, 2].map((k) => (k === l ? 1 : 0))), [N, 3]) };
}

async function weightsOf(m: Model): Promise<Float32Array[]> {
  return Promise.all([...m.namedWeights().values()].map((v) => v.read()));
}

describe('micro-batching under a lowered buffer limit', () => {
  it('fit, evaluate and predict equal the full-batch run for a model without batch statistics', async () => {
    const { x, y } = data();
    const full = convNet(false);
    const fullHistory = await full.fit(x, y, { epochs: 3, batchSize: N, shuffle: false, verbose: 0 });
    const fullEval = await full.evaluate(x, y, { batchSize: N });
    const fullPred = await full.predict(x, { batchSize: N });

    const split = convNet(false);
    const calls = vi.spyOn(split, 'call');
    // NOTE: 4 KiB: a [4,4,4,16] slice fits, the [8,4,4,16] batch does not.
    device().pool.setLimit(4096);
    const history = await split.fit(x, y, { epochs: 3, batchSize: N, shuffle: false, verbose: 0 });
    // 1 failed try, then 2 slices per step for 3 steps: the split really happened.
    expect(calls.mock.calls.length).toBe(1 + 2 * 3);
    const evalLogs = await split.evaluate(x, y, { batchSize: N });
    const pred = await split.predict(x, { batchSize: N });
    device().pool.setLimit(null);

    expectClose(history.history['loss']!, fullHistory.history['loss']!, { atol: 1e-6, rtol: 1e-5 }, 'loss per epoch');
    expect(history.history['accuracy']).toEqual(fullHistory.history['accuracy']);
    const [a, b] = await Promise.all([weightsOf(split), weightsOf(full)]);
    a.forEach((w, i) => expectClose(w, b[i]!, { atol: 1e-6, rtol: 1e-5 }, `weight ${i}`));
    expectClose([evalLogs['loss']!], [fullEval['loss']!], { atol: 1e-6, rtol: 1e-5 }, 'evaluate loss');
    expect(pred.shape).toEqual([N, 3]);
    expectClose(await pred.data(), await fullPred.data(), { atol: 1e-6, rtol: 1e-5 }, 'predict');
    for (const t of [x, y, pred, fullPred]) t.dispose();
    full.dispose();
    split.dispose();
  });

  it('BatchNormalization in training mode: runs in slices and trains (loss falls, moving statistics move)', async () => {
    const { x, y } = data();
    const m = convNet(true);
    const moving = () => Promise.all([...m.namedWeights().entries()].filter(([k]) => /moving/.test(k)).map(([, v]) => v.read()));
    const movingBefore = await moving();
    device().pool.setLimit(4096);
    const h = await m.fit(x, y, { epochs: 8, batchSize: N, shuffle: false, verbose: 0 });
    device().pool.setLimit(null);
    const loss = h.history['loss']!;
    expect(loss.every(Number.isFinite)).toBe(true);
    expect(loss.at(-1)!).toBeLessThan(loss[0]!);
    const movingAfter = await moving();
    expect(movingBefore.length).toBe(2);
    expect(movingAfter.some((w, i) => w.some((v, j) => v !== movingBefore[i]![j]))).toBe(true);
    x.dispose();
    y.dispose();
    m.dispose();
  });

  it('when not even one example fits: an error naming the op, the shape, its size, the limit and what fits', async () => {
    const { x, y } = data();
    // NOTE: 32 filters: one example's 1x1-conv output (16 rows of 32, as a matmul) is 2 KiB, over a 1.5 KiB limit that the 1 KiB batch input fits.
    const m = convNet(false, 32);
    const before = memory();
    device().pool.setLimit(1536);
    const err = await m.fit(x, y, { epochs: 1, batchSize: N, verbose: 0 }).then(() => null, (e: Error) => e);
    device().pool.setLimit(null);
    expect(err).toBeInstanceOf(GpuMemoryError);
    expect(err?.message).toMatch(/a tensor of shape \[128,32\] \(16384 bytes, .*\) exceeds this device's buffer limit of 1536 bytes .*with a slice of 8 of the batch of 8/);
    expect(err?.message).toMatch(/in op '\w+'/);
    expect(err?.message).toMatch(/not even one example fits/);
    // NOTE: the failed tries kept nothing: GPU memory is back where it was.
    expect(memory().bytesLive).toBe(before.bytesLive);
    expect(memory().tensorsLive).toBe(before.tensorsLive);
    x.dispose();
    y.dispose();
    m.dispose();
  });

  it('a plain tensor over the limit names its shape, size and the largest batch that fits', () => {
    device().pool.setLimit(1000);
    let err: unknown;
    try {
      tensor(new Float32Array(16 * 20), [16, 20]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GpuMemoryError);
    expect((err as Error).message).toMatch(/shape \[16,20\] \(1280 bytes/);
    expect((err as GpuMemoryError).largestBatch).toBe(12);
    expect(getDevice().pool.bufferLimit).toBe(1000);
  });

  it('a device out-of-memory report becomes a GpuMemoryError naming the last new buffer, thrown at the next sync (no hang)', async () => {
    // NOTE: lavapipe allocates host memory lazily, so a real out-of-memory cannot be provoked safely on a shared
    // machine; the report is fed to the device's uncapturederror handler as Dawn would deliver it.
    class GPUOutOfMemoryError {
      constructor(readonly message: string) {}
    }
    const t = tensor(new Float32Array(3 * 1001), [3, 1001]);
    device().reportError(new GPUOutOfMemoryError('Out of memory allocating a buffer'));
    const err = await device().sync().then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(GpuMemoryError);
    expect((err as GpuMemoryError).kind).toBe('out-of-memory');
    expect(err?.message).toMatch(/^Graft: the GPU ran out of memory allocating a tensor of shape \[3,1001\] \(12012 bytes.*\(Out of memory allocating a buffer\)/);
    await device().sync();
    t.dispose();
  });
});
