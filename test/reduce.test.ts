// Reductions: forward vs the float64 oracle on random shapes and axes, backward vs central differences (ties included).

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { argmaxRef, argminRef, maxRef, meanRef, minRef, ref, sumRef, type RefTensor } from '../src/reference/index.js';
import { rng } from '../src/tensor/tensor.js';
import { expectClose, expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
type Red = (x: g.Tensor, axes?: number | readonly number[], o?: g.ReduceOptions) => g.Tensor;
type RedRef = (x: RefTensor, axes?: number | readonly number[], keepDims?: boolean) => RefTensor;
const reductions: [string, Red, RedRef][] = [['sum', g.sum, sumRef], ['mean', g.mean, meanRef], ['max', g.max, maxRef], ['min', g.min, minRef]];

/** A random shape of rank 0..5 (dims 1..7, odd sizes common) and a random subset of its axes, some negative. */
function randomCase(r: () => number): { shape: number[]; axes: number[] | undefined; keepDims: boolean } {
  const rank = Math.floor(r() * 6);
  const shape = Array.from({ length: rank }, () => 1 + Math.floor(r() * 7));
  const all = r() < 0.15;
  const axes = all ? undefined : [...Array(rank).keys()].filter(() => r() < 0.5).map((a) => (r() < 0.5 ? a - rank : a));
  return { shape, axes, keepDims: r() < 0.5 };
}

describe('reduction forward', () => {
  for (const [name, fn, rf] of reductions) {
    it(`${name} matches the oracle on 40 random shapes and axis sets (negative axes, keepDims)`, async () => {
      const r = rng(77);
      for (let k = 0; k < 40; k++) {
        const { shape, axes, keepDims } = randomCase(r);
        const v = randomValues(size(shape), 1000 + k, -5, 5);
        await expectTensor(fn(g.tensor(v, shape), axes, { keepDims }), rf(ref(v, shape), axes, keepDims), { atol: 1e-5, rtol: 1e-5 }, `${name} ${shape} ${axes} ${keepDims}`);
      }
    });
  }

  it('handles size-1 and empty dims: sum over an empty axis is 0, the other reductions refuse it', async () => {
    const v = randomValues(12, 3);
    await expectTensor(g.sum(g.tensor(v, [3, 1, 4]), 1), sumRef(ref(v, [3, 1, 4]), 1), {}, 'sum size-1');
    await expectTensor(g.max(g.tensor(v, [3, 1, 4]), [0, 1], { keepDims: true }), maxRef(ref(v, [3, 1, 4]), [0, 1], true), {}, 'max size-1');
    expect(await g.sum(g.zeros([2, 0, 3]), 1).array()).toEqual([0, 0, 0, 0, 0, 0]);
    expect(g.sum(g.zeros([2, 0, 3]), 0).shape).toEqual([0, 3]);
    expect(() => g.max(g.zeros([2, 0]), 1)).toThrow(/max: cannot reduce over an empty axis of shape \[2,0\]/);
    expect(() => g.mean(g.zeros([0]))).toThrow(/mean: cannot reduce over an empty axis/);
  });

  it('keeps large magnitudes and long sums accurate', async () => {
    const big = randomValues(6 * 7, 5, -1e30, 1e30);
    for (const [name, fn, rf] of reductions) {
      await expectTensor(fn(g.tensor(big, [6, 7]), 1), rf(ref(big, [6, 7]), 1), { atol: 0, rtol: 1e-5 }, `${name} large`);
    }
    // NOTE: long sums: a naive float32 running sum of 1e6 values drifts by ~1e-6 relative (measured on lavapipe,
    // where the compiler once folded Kahan's compensation away); compensated partial sums stay within ~2 ulp.
    const long: [number[], number[] | number | undefined, RedRef, Red][] = [
      [[1_000_003], undefined, sumRef, g.sum], [[1_000_003], undefined, meanRef, g.mean],
      [[1_000_003], undefined, maxRef, g.max], [[1_000_003], undefined, minRef, g.min],
      [[3, 333_335], -1, sumRef, g.sum], [[1000, 1003], [0, 1], meanRef, g.mean], [[1000, 1003], 0, sumRef, g.sum],
    ];
    for (const [k, [shape, axes, rf, fn]] of long.entries()) {
      for (const lo of [0, -1]) {
        const v = randomValues(size(shape), 6 + k, lo, 1);
        const want = rf(ref(v, shape), axes);
        // NOTE: partial sums of mixed signs can be near 0; their tolerance scales with sqrt(r) * ulp(1).
        const atol = lo < 0 ? 3e-7 * Math.sqrt(size(shape) / want.data.length) : 0;
        await expectTensor(fn(g.tensor(v, shape), axes), want, { atol, rtol: 3e-7 }, `long ${rf.name} ${shape} ${axes} from ${lo}`);
      }
    }
  });

  it('propagates NaN through max and min', async () => {
    const x = g.tensor([1, NaN, 3, 4, 5, 6], [2, 3]);
    const m = await g.max(x, 1).array();
    expect(Number.isNaN(m[0])).toBe(true);
    expect(m[1]).toBe(6);
    expect(Number.isNaN((await g.min(x, 1).array())[0])).toBe(true);
  });

  it('argmax and argmin match the oracle on every axis and pick the first of ties', async () => {
    for (const [k, shape] of [[7], [3, 5], [2, 3, 4], [4, 1, 1031]].entries()) {
      const v = randomValues(size(shape), 50 + k, -3, 3).map((x) => Math.round(x * 2) / 2);
      for (let axis = -shape.length; axis < shape.length; axis++) {
        const x = g.tensor(v, shape);
        const am = g.argmax(x, axis);
        expect(am.dtype).toBe('int32');
        await expectTensor(am, argmaxRef(ref(v, shape), axis), { atol: 0, rtol: 0 }, `argmax ${shape} ${axis}`);
        await expectTensor(g.argmin(x, axis), argminRef(ref(v, shape), axis), { atol: 0, rtol: 0 }, `argmin ${shape} ${axis}`);
      }
    }
  });
});

/** Reference for the tie rule: the gradient of a max/min is split equally among the elements equal to it. */
function tieShareRef(v: number[], shape: number[], axis: number, isMax: boolean): number[] {
  const y = (isMax ? maxRef : minRef)(ref(v, shape), axis, true);
  const inner = size(shape.slice(axis + 1));
  const out = new Array<number>(v.length).fill(0);
  const n = shape[axis]!;
  const outer = v.length / (n * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const m = y.data[o * inner + i]!;
      const hits = [...Array(n).keys()].filter((j) => v[(o * n + j) * inner + i] === m);
      for (const j of hits) out[(o * n + j) * inner + i] = 1 / hits.length;
    }
  }
  return out;
}

describe('reduction backward', () => {
  for (const [name, fn, rf] of reductions) {
    it(`${name} matches central differences (full) over several axis sets`, async () => {
      for (const [shape, axes, keepDims] of [[[3, 4], 1, false], [[2, 3, 4], [0, 2], true], [[5], undefined, false], [[2, 3, 4], -2, false]] as [number[], number | number[] | undefined, boolean][]) {
        await gradCheck({ shapes: [shape], gpu: ([x]) => fn(x!, axes, { keepDims }), ref: ([x]) => rf(x!, axes, keepDims) });
      }
    });
    it(`${name} matches central differences on a realistic shape (directional)`, async () => {
      await gradCheck({ shapes: [[8, 14, 14, 24]], mode: 'directional', gpu: ([x]) => fn(x!, [1, 2]), ref: ([x]) => rf(x!, [1, 2]) });
    });
  }

  it('max and min split the gradient equally among ties (two-way ties match central differences)', async () => {
    // NOTE: with a two-way tie, the central difference is (eps - 0) / (2 eps) = 1/2 for each: the equal-share rule.
    const v = Float64Array.from([1, 3, 3, 0, -2, -2, 5, 0.5, 0.5, 2, 2, -1]);
    await gradCheck({ shapes: [[4, 3]], values: [v], gpu: ([x]) => g.max(x!, 1), ref: ([x]) => maxRef(x!, 1), eps: 1e-3 });
    await gradCheck({ shapes: [[4, 3]], values: [v], gpu: ([x]) => g.min(x!, 1), ref: ([x]) => minRef(x!, 1), eps: 1e-3 });
  });

  it('max and min give 1/k of the gradient to each of k tied elements', async () => {
    const v = [2, 2, 2, 1, 0, 0, 0, 0, 4, 4, -1, 4];
    for (const isMax of [true, false]) {
      const x = g.tensor(v, [3, 4], { requiresGrad: true });
      (isMax ? g.max : g.min)(x, 1).backward(g.ones([3]));
      expectClose(await x.grad!.array(), tieShareRef(v, [3, 4], 1, isMax), { atol: 1e-7, rtol: 0 }, isMax ? 'max ties' : 'min ties');
    }
  });
});
