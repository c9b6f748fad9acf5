// Memory stays flat: 1,000 training-like steps (forward, backward, parameter update) inside tidy leave live tensors
// and bytes at their baseline, and the buffer pool stops growing after the first steps.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

/** Bytes the pool holds in total (handed out + free). */
const poolBytes = () => {
  const m = g.memory();
  return m.bytesAllocated + m.bytesPooled;
};

describe('memory over a training loop', () => {
  it('1,000 forward + backward + update steps keep memory() at its baseline', async () => {
    const x = g.tensor(randomValues(8 * 16, 1, -2, 2), [8, 16]);
    const labels = g.tensor(Array.from({ length: 8 }, (_, i) => i % 10), [8], { dtype: 'int32' });
    const onehot = g.oneHot(labels, 10);
    let w1 = g.tensor(randomValues(16, 2), [16], { requiresGrad: true });
    let b1 = g.tensor(randomValues(16, 3, -0.1, 0.1), [16], { requiresGrad: true });
    let w2 = g.tensor(randomValues(10 * 16, 4, -0.3, 0.3), [10, 16], { requiresGrad: true });
    const lr = g.scalar(0.05);

    const step = (): g.Tensor => {
      const h = g.silu(g.add(g.mul(x, w1), b1));
      // NOTE: a dense layer without matmul: broadcast [8,1,16] * [10,16] and sum the last axis.
      const logits = g.sum(g.mul(g.reshape(h, [8, 1, 16]), w2), -1);
      const wide = g.concat([logits, g.pad(g.slice(logits, [0, 0], [8, 3]), [[0, 0], [0, 1]])], 1);
      const loss = g.add(
        g.mean(g.sparseSoftmaxCrossEntropy(g.slice(wide, [0, 0], [8, 10]), labels)),
        g.mul(g.mean(g.categoricalCrossentropy(g.softmax(logits), onehot)), g.scalar(0.1)),
      );
      loss.backward();
      const next = g.noGrad(() => [w1, b1, w2].map((p) => g.keep(g.sub(p, g.mul(p.grad!, lr)).requireGrad())));
      for (const p of [w1, b1, w2]) {
        g.zeroGrad([p]);
        p.dispose();
      }
      [w1, b1, w2] = next as [g.Tensor, g.Tensor, g.Tensor];
      return loss;
    };

    const losses: number[] = [];
    let baseline: g.MemoryInfo | null = null;
    let poolAfterWarmup = 0;
    for (let i = 0; i < 1000; i++) {
      const loss = g.tidy(step);
      if (i % 100 === 0 || i === 999) losses.push((await loss.array())[0]!);
      loss.dispose();
      if (i === 9) {
        baseline = g.memory();
        poolAfterWarmup = poolBytes();
      }
      if (i > 9 && i % 100 === 0) {
        expect(g.memory().tensorsLive, `tensors at step ${i}`).toBe(baseline!.tensorsLive);
        expect(g.memory().bytesLive, `bytes at step ${i}`).toBe(baseline!.bytesLive);
      }
      if (i % 50 === 0) await device().sync();
    }
    await device().sync();
    const end = g.memory();
    expect(end.tensorsLive).toBe(baseline!.tensorsLive);
    expect(end.bytesLive).toBe(baseline!.bytesLive);
    expect(end.bytesAllocated).toBe(baseline!.bytesAllocated);
    expect(poolBytes()).toBe(poolAfterWarmup);
    // The loop really trained: the loss went down.
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! * 0.5);
  });
});
