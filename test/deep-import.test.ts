// A deep import that skips src/index.ts and src/ops/index.ts still backpropagates (no setter left unset).
// NOTE: this file must import nothing that loads src/ops/index.ts, or it would test nothing.
import { expect, it } from 'vitest';
import { init } from '../src/tensor/engine.js';
import { tensor } from '../src/tensor/tensor.js';
import { matmul } from '../src/ops/matmul.js';

it('matmul imported alone: backward of a fanned-out graph gives the analytic gradient', async () => {
  await init();
  const x = tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
  const y = matmul(matmul(x, x), tensor([1, 1], [2, 1]));
  const loss = matmul(tensor([1, 1], [1, 2]), y);
  loss.backward();
  // NOTE: loss = 1ᵀ·X·X·1, so dloss/dX = 1·(X·1)ᵀ + (Xᵀ·1)·1ᵀ; X·1 = [3, 7], Xᵀ·1 = [4, 6].
  expect(await x.grad!.array()).toEqual([3 + 4, 7 + 4, 3 + 6, 7 + 6]);
});
