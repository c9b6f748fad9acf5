// Autograd semantics: fan-out, diamonds, residuals, accumulation, zeroGrad, noGrad, detach, tidy, and error cases.
// Composite gradients are checked against central differences of the float64 oracle composed the same way.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import {
  binaryRef, concatRef, logSoftmaxRef, meanRef, padRef, ref, softmaxCrossEntropyRef, sumRef, transposeRef, unaryRef,
  type RefTensor,
} from '../src/reference/index.js';
import { expectClose, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const badd = (a: RefTensor, b: RefTensor) => binaryRef(a, b, 'add');
const bmul = (a: RefTensor, b: RefTensor) => binaryRef(a, b, 'mul');

describe('composite graphs match the composed oracle', () => {
  it('fan-out: x used three times', async () => {
    await gradCheck({
      shapes: [[3, 4]],
      gpu: ([x]) => g.sum(g.add(g.mul(x!, x!), g.mul(g.exp(x!), x!)), 1),
      ref: ([x]) => sumRef(badd(bmul(x!, x!), bmul(unaryRef(x!, 'exp'), x!)), 1),
    });
  });

  it('diamond: two branches from one node rejoin', async () => {
    await gradCheck({
      shapes: [[5, 3]],
      gpu: ([x]) => {
        const a = g.exp(x!);
        return g.mul(g.affine(a, 2, 0.5), g.tanh(a));
      },
      ref: ([x]) => {
        const a = unaryRef(x!, 'exp');
        return bmul(unaryRef(a, 'affine', 2, 0.5), unaryRef(a, 'tanh'));
      },
    });
  });

  it('residual blocks a + f(a) with a broadcast weight, stacked twice', async () => {
    await gradCheck({
      shapes: [[4, 6], [6]],
      gpu: ([x, w]) => {
        let a = x!;
        for (let k = 0; k < 2; k++) a = g.add(a, g.silu(g.mul(a, w!)));
        return a;
      },
      ref: ([x, w]) => {
        let a = x!;
        for (let k = 0; k < 2; k++) a = badd(a, unaryRef(bmul(a, w!), 'silu'));
        return a;
      },
    });
  });

  it('a classifier-like graph through layout, softmax and a loss (directional)', async () => {
    const labels = g.softmax(g.tensor(randomValues(8 * 10, 3, -2, 2), [8, 10]));
    const labelsRef = ref(await labels.data(), [8, 10]);
    await gradCheck({
      shapes: [[10, 8], [1, 10]],
      mode: 'directional',
      gpu: ([x, b]) => {
        const logits = g.add(g.transpose(x!), b!);
        const wide = g.concat([logits, g.pad(logits, [[0, 0], [0, 0]])], 0);
        return g.add(g.mean(g.softmaxCrossEntropy(wide, g.concat([labels, labels], 0))), g.mean(g.logSoftmax(x!, 0)));
      },
      ref: ([x, b]) => {
        const logits = badd(transposeRef(x!), b!);
        const wide = concatRef([logits, padRef(logits, [[0, 0], [0, 0]])], 0);
        return badd(meanRef(softmaxCrossEntropyRef(wide, concatRef([labelsRef, labelsRef], 0))), meanRef(logSoftmaxRef(x!, 0)));
      },
    });
  });
});

describe('gradient bookkeeping', () => {
  it('accumulates across two backward calls, and zeroGrad clears', async () => {
    const v = randomValues(6, 9);
    const x = g.tensor(v, [6], { requiresGrad: true });
    const loss = () => g.sum(g.mul(x, x));
    loss().backward();
    const once = await x.grad!.array();
    expectClose(once, Array.from(v, (a) => 2 * a), { atol: 1e-6, rtol: 1e-6 }, 'first backward');
    loss().backward();
    expectClose(await x.grad!.array(), once.map((a) => 2 * a), { atol: 1e-6, rtol: 1e-6 }, 'accumulated');
    g.zeroGrad([x]);
    expect(x.grad).toBeNull();
    loss().backward();
    expectClose(await x.grad!.array(), once, { atol: 1e-6, rtol: 1e-6 }, 'after zeroGrad');
  });

  it('seeds with a given gradient and leaves the seed untouched', async () => {
    const x = g.tensor([1, 2, 3], [3], { requiresGrad: true });
    const seed = g.tensor([0.5, -1, 2], [3]);
    g.mul(x, x).backward(seed);
    expect(await x.grad!.array()).toEqual([1, -4, 12]);
    expect(await seed.array()).toEqual([0.5, -1, 2]);
    expect(seed.isDisposed).toBe(false);
  });

  it('noGrad records no tape', () => {
    const x = g.tensor([1, 2], [2], { requiresGrad: true });
    const y = g.noGrad(() => g.softmax(g.mul(x, x)));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(g.isGradEnabled()).toBe(true);
    expect(() => y.backward()).toThrow(/backward: tensor \[2\] does not require grad/);
  });

  it('detach stops the gradient: d/dx sum(x * detach(x)) = x', async () => {
    const v = randomValues(5, 10);
    const x = g.tensor(v, [5], { requiresGrad: true });
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.node).toBeNull();
    g.sum(g.mul(x, d)).backward();
    expectClose(await x.grad!.array(), v, { atol: 1e-7, rtol: 0 }, 'detach');
  });

  it('inputs that do not require grad get none', () => {
    const x = g.tensor([1, 2], [2], { requiresGrad: true });
    const c = g.tensor([3, 4], [2]);
    g.sum(g.mul(x, c)).backward();
    expect(c.grad).toBeNull();
    expect(x.grad).not.toBeNull();
  });
});

describe('tidy', () => {
  it('keeps returned tensors (also in arrays and objects) and frees the rest', async () => {
    const before = g.memory().tensorsLive;
    const { a, list } = g.tidy(() => {
      const x = g.tensor([1, 2, 3], [3]);
      const y = g.exp(x);
      return { a: g.add(y, x), list: [g.neg(x)] };
    });
    expect(g.memory().tensorsLive).toBe(before + 2);
    expectClose(await a.array(), [1, 2, 3].map((v) => Math.exp(v) + v), { atol: 1e-5, rtol: 1e-6 }, 'a');
    expect(await list[0]!.array()).toEqual([-1, -2, -3]);
    a.dispose();
    list[0]!.dispose();
    expect(g.memory().tensorsLive).toBe(before);
  });

  it('nested tidy: the inner result belongs to the outer scope', () => {
    const before = g.memory().tensorsLive;
    let inner: g.Tensor | null = null;
    const outer = g.tidy(() => {
      inner = g.tidy(() => g.exp(g.tensor([1], [1])));
      expect(inner.isDisposed).toBe(false);
      return g.neg(g.tensor([2], [1]));
    });
    expect(inner!.isDisposed).toBe(true);
    expect(outer.isDisposed).toBe(false);
    outer.dispose();
    expect(g.memory().tensorsLive).toBe(before);
  });

  it('a backward inside tidy leaves gradients on leaves and frees the graph', async () => {
    const w = g.tensor(randomValues(12, 11), [3, 4], { requiresGrad: true });
    const before = g.memory();
    g.tidy(() => {
      const y = g.softmax(g.mul(w, w), 0);
      g.sum(g.mul(y, y)).backward();
    });
    const after = g.memory();
    expect(after.tensorsLive).toBe(before.tensorsLive + 1);
    expect(after.bytesLive).toBe(before.bytesLive + 12 * 4);
    expect(w.grad!.isDisposed).toBe(false);
    expect((await w.grad!.array()).every(Number.isFinite)).toBe(true);
  });

  it('disposes what it created when fn throws', () => {
    const before = g.memory().tensorsLive;
    expect(() => g.tidy(() => {
      g.exp(g.tensor([1], [1]));
      throw new Error('boom');
    })).toThrow('boom');
    expect(g.memory().tensorsLive).toBe(before);
  });
});

describe('backward errors', () => {
  it('non-scalar without a seed, seed shape mismatch, tensor not requiring grad', () => {
    const x = g.tensor([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const y = g.mul(x, x);
    expect(() => y.backward()).toThrow(/backward: a gradient is needed for non-scalar tensor \[2,2\]/);
    expect(() => y.backward(g.ones([4]))).toThrow(/backward: gradient shape \[4\] does not match tensor \[2,2\]/);
    expect(() => g.tensor([1], []).backward()).toThrow(/backward: tensor \[\] does not require grad/);
  });
});
