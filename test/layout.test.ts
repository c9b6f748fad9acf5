// Layout ops: forward vs the float64 oracle (odd, size-1, empty and large-magnitude cases), backward vs central differences.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import {
  broadcastToRef, concatRef, oneHotRef, padRef, ref, sliceRef, stackRef, transposeRef, type RefTensor,
} from '../src/reference/index.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const EXACT = { atol: 0, rtol: 0 };

/** Random inputs with large magnitudes: layout ops move words, so results must be bit-exact. */
function pair(shape: number[], seed: number): [g.Tensor, RefTensor] {
  const v = randomValues(size(shape), seed, -3e30, 3e30);
  return [g.tensor(v, shape), ref(v, shape)];
}

describe('transpose', () => {
  const cases: [number[], number[] | undefined][] = [
    [[3, 5], undefined],
    [[2, 3, 7], [2, 0, 1]],
    [[2, 1, 3, 5], [3, 1, 0, 2]],
    [[4, 0, 3], [1, 2, 0]],
    [[7], undefined],
    [[], undefined],
    [[2, 1, 2, 1, 3, 1, 2, 2], [7, 6, 5, 4, 3, 2, 1, 0]],
    // Rows of >= 8 go through the row kernel: contiguous and strided innermost dims, chunks of 16 with a remainder.
    [[3, 5, 37], [1, 0, 2]],
    [[2, 9, 11], [2, 0, 1]],
  ];
  it('matches the oracle for any permutation, bit-exact', async () => {
    for (const [k, [shape, perm]] of cases.entries()) {
      const [x, r] = pair(shape, k);
      await expectTensor(g.transpose(x, perm), transposeRef(r, perm), EXACT, `transpose ${shape} ${perm}`);
    }
  });
  it('moves int32 values unchanged', async () => {
    const x = g.tensor([1, -2, 3, 2147483647, -2147483648, 6], [2, 3], { dtype: 'int32' });
    const y = g.transpose(x);
    expect(y.dtype).toBe('int32');
    expect(await y.array()).toEqual([1, 2147483647, -2, -2147483648, 3, 6]);
  });
  it('backward matches central differences', async () => {
    await gradCheck({ shapes: [[2, 3, 4]], gpu: ([x]) => g.transpose(x!, [1, 2, 0]), ref: ([x]) => transposeRef(x!, [1, 2, 0]) });
    await gradCheck({
      shapes: [[8, 13, 11, 6]], mode: 'directional',
      gpu: ([x]) => g.transpose(x!, [0, 3, 1, 2]), ref: ([x]) => transposeRef(x!, [0, 3, 1, 2]),
    });
  });
});

describe('slice', () => {
  const cases: [number[], number[], number[]][] = [
    [[7], [2], [3]],
    [[5, 6], [1, 2], [3, -1]],
    [[3, 4, 5], [0, 1, 2], [-1, 2, 3]],
    [[3, 4], [1, 0], [0, 4]],
    [[2, 1, 9], [1, 0, 4], [1, 1, 5]],
    [[3, 0, 2], [1, 0, 0], [2, 0, 2]],
    [[2, 6, 7, 20], [1, 1, 2, 0], [1, 4, 5, 20]],
    [[3, 40], [1, 3], [2, 33]],
  ];
  it('matches the oracle, size -1 reads to the end, bit-exact', async () => {
    for (const [k, [shape, begin, sz]] of cases.entries()) {
      const [x, r] = pair(shape, 10 + k);
      await expectTensor(g.slice(x, begin, sz), sliceRef(r, begin, sz), EXACT, `slice ${shape} ${begin} ${sz}`);
    }
  });
  it('backward matches central differences', async () => {
    await gradCheck({ shapes: [[4, 5, 3]], gpu: ([x]) => g.slice(x!, [1, 2, 0], [2, -1, 2]), ref: ([x]) => sliceRef(x!, [1, 2, 0], [2, -1, 2]) });
    await gradCheck({
      shapes: [[6, 17, 9, 5]], mode: 'directional',
      gpu: ([x]) => g.slice(x!, [1, 3, 0, 1], [4, 11, 9, 3]), ref: ([x]) => sliceRef(x!, [1, 3, 0, 1], [4, 11, 9, 3]),
    });
  });
});

describe('pad', () => {
  const cases: [number[], [number, number][], number][] = [
    [[5], [[2, 3]], 0],
    [[3, 4], [[1, 0], [2, 1]], -7.5],
    [[2, 3, 5], [[0, 0], [1, 1], [0, 3]], Math.fround(1e30)],
    [[0, 3], [[1, 1], [0, 2]], 2],
    [[1, 1], [[0, 0], [0, 0]], 0],
    // NHWC pads as ZeroPadding2D does them, long channel rows (row kernel), odd remainder of a 16-chunk.
    [[2, 5, 7, 19], [[0, 0], [0, 1], [1, 2], [0, 0]], 0],
    [[1, 3, 4, 8], [[1, 0], [2, 2], [0, 1], [3, 5]], -2],
  ];
  it('matches the oracle with a constant value, bit-exact', async () => {
    for (const [k, [shape, pads, value]] of cases.entries()) {
      const [x, r] = pair(shape, 20 + k);
      await expectTensor(g.pad(x, pads, value), padRef(r, pads, value), EXACT, `pad ${shape} ${JSON.stringify(pads)}`);
    }
  });
  it('pads int32 tensors with an int32 value', async () => {
    const x = g.tensor([5, 6], [2], { dtype: 'int32' });
    expect(await g.pad(x, [[1, 2]], -1).array()).toEqual([-1, 5, 6, -1, -1]);
  });
  it('backward matches central differences', async () => {
    await gradCheck({ shapes: [[3, 4]], gpu: ([x]) => g.pad(x!, [[1, 2], [0, 3]], 0.5), ref: ([x]) => padRef(x!, [[1, 2], [0, 3]], 0.5) });
    await gradCheck({
      shapes: [[4, 13, 13, 7]], mode: 'directional',
      gpu: ([x]) => g.pad(x!, [[0, 0], [1, 2], [1, 2], [0, 0]]), ref: ([x]) => padRef(x!, [[0, 0], [1, 2], [1, 2], [0, 0]]),
    });
  });
});

describe('concat and stack', () => {
  const cases: [number[][], number][] = [
    [[[3], [5], [1]], 0],
    [[[2, 3], [2, 5]], 1],
    [[[2, 3], [2, 5]], -1],
    [[[1, 3, 2], [4, 3, 2], [0, 3, 2]], 0],
    [[[2, 3, 1], [2, 3, 2], [2, 3, 1]], 2],
    [[[2, 0, 3], [2, 4, 3]], 1],
    [[[2, 3, 9], [2, 3, 17]], 2],
    [[[2, 10], [3, 10], [1, 10]], 0],
  ];
  it('concat matches the oracle along any axis, bit-exact', async () => {
    for (const [k, [shapes, axis]] of cases.entries()) {
      const ps = shapes.map((s, i) => pair(s, 30 + 10 * k + i));
      await expectTensor(g.concat(ps.map((p) => p[0]), axis), concatRef(ps.map((p) => p[1]), axis), EXACT, `concat ${JSON.stringify(shapes)} ${axis}`);
    }
  });
  it('stack matches the oracle on every axis', async () => {
    for (const axis of [0, 1, 2, -1]) {
      const ps = [0, 1, 2].map((i) => pair([3, 5], 70 + i));
      await expectTensor(g.stack(ps.map((p) => p[0]), axis), stackRef(ps.map((p) => p[1]), axis), EXACT, `stack axis ${axis}`);
    }
  });
  it('concat backward matches central differences for every input', async () => {
    await gradCheck({
      shapes: [[2, 3, 2], [2, 1, 2], [2, 4, 2]],
      gpu: (xs) => g.concat(xs, 1), ref: (xs) => concatRef(xs, 1),
    });
    await gradCheck({
      shapes: [[4, 9, 9, 16], [4, 9, 9, 24]], mode: 'directional',
      gpu: (xs) => g.concat(xs, -1), ref: (xs) => concatRef(xs, -1),
    });
  });
  it('stack backward matches central differences', async () => {
    await gradCheck({ shapes: [[3, 2], [3, 2]], gpu: (xs) => g.stack(xs, 1), ref: (xs) => stackRef(xs, 1) });
  });
  it('concat gives each input of concat(x, x) the sum of both gradient slices', async () => {
    const v = randomValues(6, 5);
    await gradCheck({
      shapes: [[2, 3]], values: [v],
      gpu: ([x]) => g.concat([x!, x!], 0), ref: ([x]) => concatRef([x!, x!], 0),
    });
  });
});

describe('broadcastTo', () => {
  it('matches the oracle, adding leading dims', async () => {
    const cases: [number[], number[]][] = [[[3, 1], [3, 5]], [[5], [2, 3, 5]], [[1, 1], [4, 3]], [[2, 1, 3], [2, 0, 3]], [[], [3]]];
    for (const [k, [from, to]] of cases.entries()) {
      const [x, r] = pair(from, 80 + k);
      await expectTensor(g.broadcastTo(x, to), broadcastToRef(r, to), EXACT, `broadcastTo ${from} -> ${to}`);
    }
  });
  it('backward matches central differences', async () => {
    await gradCheck({ shapes: [[3, 1]], gpu: ([x]) => g.broadcastTo(x!, [2, 3, 4]), ref: ([x]) => broadcastToRef(x!, [2, 3, 4]) });
    await gradCheck({ shapes: [[2, 3]], gpu: ([x]) => g.broadcastTo(x!, [2, 3]), ref: ([x]) => broadcastToRef(x!, [2, 3]) });
  });
});

describe('oneHot', () => {
  it('matches the oracle; out-of-range and negative indices give rows of off', async () => {
    const idx = [0, 3, 2, -1, 4, 1, 7];
    const x = g.tensor(idx, [7], { dtype: 'int32' });
    await expectTensor(g.oneHot(x, 4), oneHotRef(ref(idx, [7]), 4), EXACT, 'oneHot');
    await expectTensor(g.oneHot(x, 5, 0.9, 0.025), oneHotRef(ref(idx, [7]), 5, 0.9, 0.025), { atol: 0, rtol: 1e-7 }, 'oneHot on/off');
    const m = g.tensor([1, 0, 2, 2, 1, 0], [2, 3], { dtype: 'int32' });
    await expectTensor(g.oneHot(m, 3), oneHotRef(ref([1, 0, 2, 2, 1, 0], [2, 3]), 3), EXACT, 'oneHot 2-D');
    expect(g.oneHot(g.tensor([], [0], { dtype: 'int32' }), 3).shape).toEqual([0, 3]);
  });
});
