// Unary and broadcasting binary ops: forward vs the float64 oracle, backward vs central differences.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { binaryRef, ref, unaryRef } from '../src/reference/index.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

type U = (x: g.Tensor) => g.Tensor;
const unaries: [string, U, [number, number], number?, number?][] = [
  ['neg', g.neg, [-3, 3]],
  ['exp', g.exp, [-5, 5]],
  ['log', g.log, [0.1, 10]],
  ['sqrt', g.sqrt, [0.1, 10]],
  ['rsqrt', g.rsqrt, [0.1, 10]],
  ['abs', g.abs, [-3, 3]],
  ['square', g.square, [-3, 3]],
  ['reciprocal', g.reciprocal, [0.5, 4]],
  ['relu', g.relu, [-3, 3]],
  ['relu6', g.relu6, [-3, 9]],
  ['sigmoid', g.sigmoid, [-8, 8]],
  ['tanh', g.tanh, [-4, 4]],
  ['silu', g.silu, [-6, 6]],
  ['hardSwish', g.hardSwish, [-5, 5]],
  ['pow', (x) => g.pow(x, 3), [-2, 2], 3],
  ['clip', (x) => g.clip(x, -0.5, 0.7), [-2, 2], -0.5, 0.7],
  ['affine', (x) => g.affine(x, 2.5, -1), [-2, 2], 2.5, -1],
  ['hardSigmoid', (x) => g.hardSigmoid(x, 0.2, 0.5), [-5, 5], 0.2, 0.5],
];

const shapes = [[7], [3, 5], [2, 3, 4, 5], [1], [], [0, 3], [1031]];

describe('unary forward', () => {
  for (const [name, fn, range, a, b] of unaries) {
    it(`${name} matches the oracle on odd, scalar and empty shapes`, async () => {
      for (const [k, shape] of shapes.entries()) {
        const n = shape.reduce((p, d) => p * d, 1);
        const v = randomValues(n, 10 + k, ...range);
        const x = g.tensor(v, shape);
        await expectTensor(fn(x), unaryRef(ref(v, shape), name, a ?? 0, b ?? 0), { atol: 1e-5, rtol: 2e-5 }, `${name} ${shape}`);
      }
    });
  }

  it('stays finite and saturates for large magnitudes', async () => {
    const v = [-1e4, -88, -30, 0, 30, 88, 1e4];
    const x = g.tensor(v, [7]);
    const r = ref(v, [7]);
    await expectTensor(g.sigmoid(x), unaryRef(r, 'sigmoid'), { atol: 1e-6, rtol: 1e-5 }, 'sigmoid');
    await expectTensor(g.tanh(x), unaryRef(r, 'tanh'), { atol: 1e-6, rtol: 1e-5 }, 'tanh');
    await expectTensor(g.silu(x), unaryRef(r, 'silu'), { atol: 1e-6, rtol: 1e-5 }, 'silu');
    await expectTensor(g.relu(x), unaryRef(r, 'relu'), {}, 'relu');
  });

  it('follows the real-valued rule for pow of negative bases', async () => {
    const v = [-2, -1.5, 0, 1.5, 2];
    const x = g.tensor(v, [5]);
    expect(await g.pow(x, 3).array()).toEqual([-8, -3.375, 0, 3.375, 8]);
    expect(await g.pow(x, 2).array()).toEqual([4, 2.25, 0, 2.25, 4]);
    const half = await g.pow(x, 0.5).array();
    expect(Number.isNaN(half[0])).toBe(true);
    expect(half[4]).toBeCloseTo(Math.SQRT2, 6);
  });
});

describe('unary backward', () => {
  for (const [name, fn, range] of unaries) {
    it(`${name} matches central differences (full Jacobian)`, async () => {
      // Kinks (relu at 0, clip edges) are avoided by the random draw: none of the 24 values lands within eps of one.
      await gradCheck({ shapes: [[4, 6]], gpu: ([x]) => fn(x!), ref: ([x]) => unaryRef(x!, name, ...(extra(name))), ranges: [range] });
    });
  }
  it('silu matches central differences on a realistic shape (directional)', async () => {
    await gradCheck({ shapes: [[8, 14, 14, 24]], gpu: ([x]) => g.silu(x!), ref: ([x]) => unaryRef(x!, 'silu'), ranges: [[-6, 6]], mode: 'directional' });
  });
});

function extra(name: string): [number, number] {
  const row = unaries.find((u) => u[0] === name)!;
  return [row[3] ?? 0, row[4] ?? 0];
}

const binaries: [string, (a: g.Tensor, b: g.Tensor) => g.Tensor][] = [
  ['add', g.add],
  ['sub', g.sub],
  ['mul', g.mul],
  ['div', g.div],
  ['maximum', g.maximum],
  ['minimum', g.minimum],
  ['squaredDifference', g.squaredDifference],
];

const pairs: [number[], number[]][] = [
  [[3, 5], [3, 5]],
  [[3, 5], [5]],
  [[3, 5], [3, 1]],
  [[4, 1, 6], [5, 1]],
  [[2, 3, 4, 5], []],
  [[], [2, 3]],
  [[1, 1, 7], [3, 1, 1]],
  [[0, 4], [4]],
  [[2, 3, 1, 5, 1, 2, 1], [3, 5, 4, 2, 1]],
  // Fast paths: bias rows (mode 3) and per-example channel scales (mode 4), scalar and vec4 widths.
  [[6, 8], [8]],
  [[2, 3, 3, 8], [2, 1, 1, 8]],
  [[3, 2, 2, 5], [3, 1, 1, 5]],
];

describe('binary forward with broadcasting', () => {
  for (const [name, fn] of binaries) {
    it(`${name} matches the oracle on broadcasting edge cases`, async () => {
      for (const [k, [sa, sb]] of pairs.entries()) {
        const va = randomValues(sa.reduce((p, d) => p * d, 1), 20 + k, -3, 3);
        const vb = randomValues(sb.reduce((p, d) => p * d, 1), 40 + k, 0.5, 3);
        const out = fn(g.tensor(va, sa), g.tensor(vb, sb));
        await expectTensor(out, binaryRef(ref(va, sa), ref(vb, sb), name), { atol: 1e-5, rtol: 1e-5 }, `${name} ${sa} ${sb}`);
      }
    });
  }

  it('comparisons return 0/1 floats', async () => {
    const a = g.tensor([1, 2, 3, 4], [4]);
    const b = g.tensor([2], [1]);
    expect(await g.equal(a, b).array()).toEqual([0, 1, 0, 0]);
    expect(await g.notEqual(a, b).array()).toEqual([1, 0, 1, 1]);
    expect(await g.less(a, b).array()).toEqual([1, 0, 0, 0]);
    expect(await g.lessEqual(a, b).array()).toEqual([1, 1, 0, 0]);
    expect(await g.greater(a, b).array()).toEqual([0, 0, 1, 1]);
    expect(await g.greaterEqual(a, b).array()).toEqual([0, 1, 1, 1]);
  });

  it('keeps large magnitudes exact where float32 can', async () => {
    const va = [1e30, -1e30, 3e38, 1e-30];
    const vb = [1e30, 1e30, 1, 1e-30];
    // NOTE: the oracle's products are rounded to float32, so 1e60 becomes Infinity as it must on the GPU.
    const r = binaryRef(ref(va, [4]), ref(vb, [4]), 'mul');
    r.data = r.data.map(Math.fround);
    await expectTensor(g.mul(g.tensor(va, [4]), g.tensor(vb, [4])), r, { atol: 0, rtol: 1e-6 }, 'mul large');
  });

  it('names the op and both shapes on a mismatch', () => {
    const a = g.zeros([3, 4]);
    const b = g.zeros([5]);
    expect(() => g.add(a, b)).toThrow(/add: shapes \[3,4\] and \[5\] cannot be broadcast/);
    expect(() => g.mul(g.zeros([2, 3]), g.zeros([3, 2]))).toThrow(/mul: shapes \[2,3\] and \[3,2\]/);
  });
});

describe('binary backward with broadcasting', () => {
  for (const [name, fn] of binaries) {
    for (const [sa, sb] of [[[3, 4], [3, 4]], [[2, 3, 4], [4]], [[3, 1], [1, 5]], [[2, 3], []]] as [number[], number[]][]) {
      it(`${name} ${JSON.stringify(sa)} x ${JSON.stringify(sb)} matches central differences`, async () => {
        // b is kept away from a so max/min have no ties and division stays well conditioned.
        await gradCheck({
          shapes: [sa, sb],
          gpu: ([a, b]) => fn(a!, b!),
          ref: ([a, b]) => binaryRef(a!, b!, name),
          ranges: [[-2, 2], [0.5, 2.5]],
        });
      });
    }
  }
});
