// Softmax, log-softmax and cross-entropy losses: forward vs the float64 oracle, backward vs central differences.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import {
  categoricalCrossentropyRef, logSoftmaxRef, ref, softmaxCrossEntropyRef, softmaxRef,
  sparseCategoricalCrossentropyRef, sparseSoftmaxCrossEntropyRef,
} from '../src/reference/index.js';
import { expectClose, expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Rows of random probabilities (each row sums to 1), float32-rounded. */
function probRows(rows: number, c: number, seed: number): Float64Array {
  const v = randomValues(rows * c, seed, 0.05, 1);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += v[r * c + j]!;
    for (let j = 0; j < c; j++) v[r * c + j] = Math.fround(v[r * c + j]! / s);
  }
  return v;
}

function ids(n: number, c: number, seed: number): number[] {
  return Array.from(randomValues(n, seed, 0, c), (v) => Math.min(c - 1, Math.floor(v)));
}

const cases: [number[], number][] = [
  [[7], -1], [[3, 5], 1], [[3, 5], 0], [[2, 3, 4], 1], [[2, 3, 4], -3], [[4, 1], 1], [[4, 1], 0],
  [[0, 3], -1], [[3, 0], 0], [[5, 1031], -1], [[2, 9, 3, 5], 2],
];

describe('softmax and logSoftmax forward', () => {
  for (const [name, fn, rf] of [['softmax', g.softmax, softmaxRef], ['logSoftmax', g.logSoftmax, logSoftmaxRef]] as const) {
    it(`${name} matches the oracle along any axis, odd, size-1 and empty dims`, async () => {
      for (const [k, [shape, axis]] of cases.entries()) {
        const v = randomValues(size(shape), 100 + k, -4, 4);
        await expectTensor(fn(g.tensor(v, shape), axis), rf(ref(v, shape), axis), { atol: 1e-6, rtol: 1e-5 }, `${name} ${shape} axis ${axis}`);
      }
    });
    it(`${name} is stable for large magnitudes`, async () => {
      const v = randomValues(6 * 11, 7, -3e4, 3e4);
      v[3] = Math.fround(8e37);
      v[14] = Math.fround(-8e37);
      // NOTE: float32 x - lse loses |x| * 2^-24 absolutely at these magnitudes.
      await expectTensor(fn(g.tensor(v, [6, 11])), rf(ref(v, [6, 11])), { atol: 1e-6, rtol: 1e-5 }, `${name} large`);
    });
  }
  it('softmax rows sum to one', async () => {
    const y = await g.sum(g.softmax(g.tensor(randomValues(4 * 50, 3, -20, 20), [4, 50])), -1).array();
    expectClose(y, [1, 1, 1, 1], { atol: 1e-6, rtol: 0 }, 'row sums');
  });
});

describe('softmax and logSoftmax backward', () => {
  for (const [name, fn, rf] of [['softmax', g.softmax, softmaxRef], ['logSoftmax', g.logSoftmax, logSoftmaxRef]] as const) {
    it(`${name} matches central differences (full) on the last, first and a middle axis`, async () => {
      for (const [shape, axis] of [[[3, 5], -1], [[4, 3], 0], [[2, 3, 4], 1]] as [number[], number][]) {
        await gradCheck({ shapes: [shape], gpu: ([x]) => fn(x!, axis), ref: ([x]) => rf(x!, axis), ranges: [[-3, 3]] });
      }
    });
    it(`${name} matches central differences on a realistic shape (directional)`, async () => {
      await gradCheck({ shapes: [[32, 1000]], gpu: ([x]) => fn(x!), ref: ([x]) => rf(x!), ranges: [[-5, 5]], mode: 'directional' });
      await gradCheck({ shapes: [[4, 50, 7]], gpu: ([x]) => fn(x!, 1), ref: ([x]) => rf(x!, 1), ranges: [[-5, 5]], mode: 'directional' });
    });
  }
});

describe('dense cross-entropy losses', () => {
  it('softmaxCrossEntropy matches the oracle for soft and one-hot labels and large logits', async () => {
    for (const [k, [rows, c, range]] of ([[4, 7, 4], [1, 1, 4], [3, 1000, 10], [5, 13, 1e4], [0, 5, 1]] as const).entries()) {
      const x = randomValues(rows * c, 200 + k, -range, range);
      const l = k % 2 === 0 ? probRows(rows, c, 300 + k) : g.oneHot(g.tensor(ids(rows, c, 9), [rows], { dtype: 'int32' }), c);
      const lv = l instanceof g.Tensor ? Float64Array.from(await l.data()) : l;
      const got = g.softmaxCrossEntropy(g.tensor(x, [rows, c]), g.tensor(lv, [rows, c]));
      await expectTensor(got, softmaxCrossEntropyRef(ref(x, [rows, c]), ref(lv, [rows, c])), { atol: 1e-5, rtol: 1e-5 }, `sce ${rows}x${c}`);
    }
  });
  it('categoricalCrossentropy follows Keras: normalize, clip to [1e-7, 1 - 1e-7], -sum(labels * log)', async () => {
    const p = [0.2, 0.3, 0.5, 1, 0, 0, 0.5, 0.25, 0.25, 2, 6, 2];
    const l = [0, 1, 0, 0, 1, 0, 0.3, 0.3, 0.4, 0, 0, 1];
    await expectTensor(g.categoricalCrossentropy(g.tensor(p, [4, 3]), g.tensor(l, [4, 3])), categoricalCrossentropyRef(ref(p, [4, 3]), ref(l, [4, 3])), { atol: 1e-5, rtol: 1e-5 }, 'cce');
    // The clipped row: -log(1e-7) = 16.118.
    expect((await g.categoricalCrossentropy(g.tensor(p, [4, 3]), g.tensor(l, [4, 3])).array())[1]).toBeCloseTo(16.118, 3);
    const x = randomValues(6 * 17, 11, 0.01, 1);
    const lv = probRows(6, 17, 12);
    await expectTensor(g.categoricalCrossentropy(g.tensor(x, [2, 3, 17]), g.tensor(lv, [2, 3, 17])), categoricalCrossentropyRef(ref(x, [2, 3, 17]), ref(lv, [2, 3, 17])), { atol: 1e-5, rtol: 1e-5 }, 'cce 3-D');
  });
  it('softmaxCrossEntropy backward matches central differences for logits and labels', async () => {
    await gradCheck({ shapes: [[3, 5], [3, 5]], gpu: ([x, l]) => g.softmaxCrossEntropy(x!, l!), ref: ([x, l]) => softmaxCrossEntropyRef(x!, l!), ranges: [[-3, 3], [0, 1]] });
    await gradCheck({
      shapes: [[32, 100], [32, 100]], mode: 'directional', values: [randomValues(3200, 5, -6, 6), probRows(32, 100, 6)],
      gpu: ([x, l]) => g.softmaxCrossEntropy(x!, l!), ref: ([x, l]) => softmaxCrossEntropyRef(x!, l!),
    });
  });
  it('categoricalCrossentropy backward matches central differences for probabilities and labels', async () => {
    await gradCheck({ shapes: [[3, 4], [3, 4]], gpu: ([x, l]) => g.categoricalCrossentropy(x!, l!), ref: ([x, l]) => categoricalCrossentropyRef(x!, l!), ranges: [[0.1, 1], [0, 1]] });
    await gradCheck({
      shapes: [[32, 100], [32, 100]], mode: 'directional', values: [randomValues(3200, 7, 0.05, 1), probRows(32, 100, 8)],
      gpu: ([x, l]) => g.categoricalCrossentropy(x!, l!), ref: ([x, l]) => categoricalCrossentropyRef(x!, l!),
    });
  });
  it('a single example (rank-1 input) gives a scalar loss', async () => {
    const x = randomValues(7, 61, -3, 3);
    const l = probRows(1, 7, 62);
    const got = g.softmaxCrossEntropy(g.tensor(x, [7]), g.tensor(l, [7]));
    await expectTensor(got, softmaxCrossEntropyRef(ref(x, [7]), ref(l, [7])), { atol: 1e-6, rtol: 1e-6 }, 'rank-1');
    const sp = g.sparseSoftmaxCrossEntropy(g.tensor(x, [7]), g.tensor([3], [], { dtype: 'int32' }));
    await expectTensor(sp, sparseSoftmaxCrossEntropyRef(ref(x, [7]), ref([3], [])), { atol: 1e-6, rtol: 1e-6 }, 'rank-1 sparse');
  });
  it('categoricalCrossentropy passes no gradient through the clip', async () => {
    const x = g.tensor([1, 0, 0], [1, 3], { requiresGrad: true });
    g.categoricalCrossentropy(x, g.tensor([0.5, 0.5, 0], [1, 3])).backward();
    // q = x (its sum is 1): q_0 = 1 > 1 - 1e-7 and q_1 = q_2 = 0 < 1e-7 are all clipped, so no gradient flows.
    expect(await x.grad!.array()).toEqual([0, 0, 0]);
  });
});

describe('sparse cross-entropy losses', () => {
  const sparse = [
    ['sparseSoftmaxCrossEntropy', g.sparseSoftmaxCrossEntropy, sparseSoftmaxCrossEntropyRef, [-5, 5]],
    ['sparseCategoricalCrossentropy', g.sparseCategoricalCrossentropy, sparseCategoricalCrossentropyRef, [0.05, 1]],
  ] as const;
  for (const [name, fn, rf, range] of sparse) {
    it(`${name} matches the oracle; out-of-range labels give NaN rows without touching others`, async () => {
      for (const [k, [batch, c]] of ([[[6], 5], [[2, 3], 9], [[1], 1], [[4], 1001]] as [number[], number][]).entries()) {
        const rows = size(batch);
        const x = randomValues(rows * c, 400 + k, ...range);
        const lab = ids(rows, c, 500 + k);
        if (rows > 2) {
          lab[1] = c;
          lab[2] = -1;
        }
        const got = fn(g.tensor(x, [...batch, c]), g.tensor(lab, batch, { dtype: 'int32' }));
        await expectTensor(got, rf(ref(x, [...batch, c]), ref(lab, batch)), { atol: 1e-5, rtol: 1e-5 }, `${name} ${batch} ${c}`);
      }
    });
    it(`${name} agrees with its dense counterpart on one-hot labels and accepts [batch, 1] labels`, async () => {
      const x = randomValues(5 * 7, 41, ...range);
      const lab = ids(5, 7, 42);
      const dense = name === 'sparseSoftmaxCrossEntropy' ? g.softmaxCrossEntropy : g.categoricalCrossentropy;
      const want = await dense(g.tensor(x, [5, 7]), g.oneHot(g.tensor(lab, [5], { dtype: 'int32' }), 7)).array();
      expectClose(await fn(g.tensor(x, [5, 7]), g.tensor(lab, [5, 1], { dtype: 'int32' })).array(), want, { atol: 1e-6, rtol: 1e-6 }, name);
    });
    it(`${name} backward matches central differences (full and directional)`, async () => {
      const lab = ids(4, 6, 43);
      const labT = g.tensor(lab, [4], { dtype: 'int32' });
      await gradCheck({ shapes: [[4, 6]], gpu: ([x]) => fn(x!, labT), ref: ([x]) => rf(x!, ref(lab, [4])), ranges: [range as [number, number]] });
      const big = ids(32, 100, 44);
      const bigT = g.tensor(big, [32], { dtype: 'int32' });
      await gradCheck({ shapes: [[32, 100]], mode: 'directional', gpu: ([x]) => fn(x!, bigT), ref: ([x]) => rf(x!, ref(big, [32])), ranges: [range as [number, number]] });
    });
    it(`${name} backward gives NaN only in rows with an out-of-range label`, async () => {
      const x = g.tensor(randomValues(3 * 4, 45, ...range), [3, 4], { requiresGrad: true });
      fn(x, g.tensor([1, 4, 0], [3], { dtype: 'int32' })).backward(g.ones([3]));
      const gr = await x.grad!.array();
      expect(gr.slice(4, 8).every(Number.isNaN)).toBe(true);
      expect([...gr.slice(0, 4), ...gr.slice(8)].every(Number.isFinite)).toBe(true);
    });
  }
});

describe('loss input checks', () => {
  it('names the op and both shapes', () => {
    expect(() => g.softmaxCrossEntropy(g.zeros([2, 3]), g.zeros([2, 4]))).toThrow(/softmaxCrossEntropy: shapes differ: logits \[2,3\] and labels \[2,4\]/);
    expect(() => g.sparseSoftmaxCrossEntropy(g.zeros([2, 3]), g.zeros([2]))).toThrow(/sparseSoftmaxCrossEntropy: labels must be int32/);
    expect(() => g.sparseCategoricalCrossentropy(g.zeros([2, 3]), g.zeros([3], { dtype: 'int32' }))).toThrow(/labels must have shape \[2\]: probabilities \[2,3\] and labels \[3\]/);
  });
});
