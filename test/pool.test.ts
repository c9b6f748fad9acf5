// Pooling over NHWC: forward vs the float64 oracle, backward vs central differences, the max-pool tie rule, errors.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { ref } from '../src/reference/index.js';
import { avgPool2dRef, globalAvgPoolRef, maxPool2dBackwardRef, maxPool2dRef, type RefPoolOptions } from '../src/reference/pool.js';
import { expectClose, expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

describe('globalAvgPool', () => {
  // 33x17 = 561 rows per image takes the chunked two-pass path; 1x1 the single pass; C % 4 == 0 the vec4 kernels.
  for (const s of [[2, 7, 7, 5], [1, 1, 1, 3], [3, 33, 17, 6], [1, 64, 64, 2], [2, 7, 7, 8], [3, 33, 17, 12], [1, 1, 1, 4]]) {
    it(`${JSON.stringify(s)} matches the oracle, with and without keepDims`, async () => {
      const v = randomValues(size(s), 3, -2, 2);
      for (const keepDims of [false, true]) {
        await expectTensor(g.globalAvgPool(g.tensor(v, s), { keepDims }), globalAvgPoolRef(ref(v, s), keepDims), { atol: 1e-5, rtol: 1e-5 }, `keepDims=${keepDims}`);
      }
    });
  }

  for (const [s, keepDims] of [[[2, 3, 3, 5], false], [[1, 4, 3, 2], true], [[3, 33, 17, 6], false], [[2, 3, 5, 8], true], [[2, 35, 9, 4], false]] as [number[], boolean][]) {
    it(`${JSON.stringify(s)} keepDims=${keepDims} backward matches central differences`, async () => {
      await gradCheck({ shapes: [s], gpu: ([x]) => g.globalAvgPool(x!, { keepDims }), ref: ([x]) => globalAvgPoolRef(x!, keepDims) });
    });
  }
});

const configs: [number[], RefPoolOptions][] = [
  [[2, 7, 7, 5], { poolSize: 3, strides: 2, padding: 'same' }],
  [[1, 6, 6, 3], { poolSize: 2 }],
  [[3, 7, 7, 4], { poolSize: 3, strides: 2, padding: 'valid' }],
  [[1, 5, 5, 6], { poolSize: 3, strides: 1, padding: 'same' }],
  [[2, 9, 9, 3], { poolSize: 2, strides: 2, padding: 'same' }],
  [[1, 8, 7, 2], { poolSize: 3, strides: 2, padding: [1, 0, 2, 1] }],
  [[3, 6, 9, 5], { poolSize: [2, 3], strides: [1, 2], padding: 'same' }],
  [[1, 4, 4, 1], { poolSize: 4, strides: 1, padding: 'same' }],
  // C % 4 == 0 runs the vec4 kernels.
  [[1, 7, 7, 8], { poolSize: 3, strides: 2, padding: 'same' }],
  [[2, 8, 7, 4], { poolSize: 3, strides: 2, padding: [1, 0, 2, 1] }],
  [[3, 6, 9, 12], { poolSize: [2, 3], strides: [1, 2], padding: 'same' }],
];

const pools = [
  ['maxPool2d', g.maxPool2d, maxPool2dRef],
  ['avgPool2d', g.avgPool2d, avgPool2dRef],
] as const;

describe('maxPool2d and avgPool2d forward', () => {
  for (const [name, fn, refFn] of pools) {
    for (const [s, o] of configs) {
      it(`${name} ${JSON.stringify(s)} ${JSON.stringify(o)} matches the oracle`, async () => {
        const v = randomValues(size(s), 7, -3, 3);
        await expectTensor(fn(g.tensor(v, s), o), refFn(ref(v, s), o), { atol: 1e-6, rtol: 1e-5 }, name);
      });
    }
  }

  it('average pooling excludes padding from the count (a constant stays constant)', async () => {
    const s = [1, 5, 6, 3];
    const y = await g.avgPool2d(g.fill(s, 2.5), { poolSize: 3, strides: 2, padding: 'same' }).data();
    expectClose(y, new Float64Array(y.length).fill(2.5), { atol: 1e-6, rtol: 0 }, 'constant');
  });
});

describe('maxPool2d and avgPool2d backward', () => {
  for (const [name, fn, refFn] of pools) {
    // Full Jacobians on the tiny configurations, directional on a realistic one.
    for (const [s, o] of [configs[0]!, configs[2]!, configs[4]!, configs[5]!, configs[6]!, configs[8]!, configs[9]!]) {
      it(`${name} ${JSON.stringify(s)} ${JSON.stringify(o)} matches central differences`, async () => {
        await gradCheck({ shapes: [s], gpu: ([x]) => fn(x!, o), ref: ([x]) => refFn(x!, o), ranges: [[-3, 3]] });
      });
    }
    it(`${name} 3x3/2 same over [3,15,15,8] matches central differences (directional)`, async () => {
      const o: RefPoolOptions = { poolSize: 3, strides: 2, padding: 'same' };
      await gradCheck({ shapes: [[3, 15, 15, 8]], gpu: ([x]) => fn(x!, o), ref: ([x]) => refFn(x!, o), mode: 'directional' });
    });
  }

  it('max pooling gives a tie to the first element in window scan order', async () => {
    // Constant and two-level inputs put ties in every window, overlapping ones included (3x3 stride 2).
    for (const s of [[2, 7, 7, 3], [2, 7, 7, 8]]) {
      const levels = randomValues(size(s), 11, 0, 1).map((v) => (v < 0.5 ? 1 : 2));
      for (const values of [new Float64Array(size(s)).fill(1), levels]) {
        for (const o of [{ poolSize: 3, strides: 2, padding: 'same' }, { poolSize: 2 }] as RefPoolOptions[]) {
          const x = g.tensor(values, s, { requiresGrad: true });
          const y = g.maxPool2d(x, o);
          const dy = randomValues(y.size, 12, 0.5, 1.5);
          y.backward(g.tensor(dy, y.shape));
          const want = maxPool2dBackwardRef(ref(values, s), ref(dy, y.shape), o);
          expectClose(await x.grad!.data(), want.data, { atol: 1e-6, rtol: 1e-6 }, `ties ${JSON.stringify(s)} ${JSON.stringify(o)}`);
        }
      }
    }
  });

  it('records no arg-max indices when no gradient is needed', async () => {
    const x = g.tensor(randomValues(2 * 5 * 5 * 3, 13), [2, 5, 5, 3]);
    const y = g.maxPool2d(x, { poolSize: 2 });
    expect(y.node).toBeNull();
    expect(y.shape).toEqual([2, 2, 2, 3]);
  });
});

describe('memory', () => {
  it('holds no tensors (arg-max indices included) across training steps, with or without a backward', () => {
    const s = [2, 7, 7, 8];
    const x = g.tensor(randomValues(size(s), 21), s, { requiresGrad: true });
    const step = (withBackward: boolean) => {
      g.tidy(() => {
        const y = g.maxPool2d(g.avgPool2d(x, { poolSize: 2, strides: 1 }), { poolSize: 3, strides: 2, padding: 'same' });
        const loss = g.sum(g.globalAvgPool(y));
        if (withBackward) loss.backward();
      });
      g.zeroGrad([x]);
    };
    step(true);
    const before = g.memory().tensorsLive;
    for (const withBackward of [true, false, true]) step(withBackward);
    expect(g.memory().tensorsLive).toBe(before);
  });
});

describe('errors', () => {
  it('name the op and the shapes', () => {
    expect(() => g.globalAvgPool(g.zeros([2, 3, 4]))).toThrow(/globalAvgPool: input must have rank 4, got shape \[2,3,4\]/);
    expect(() => g.maxPool2d(g.zeros([1, 2, 2, 3]), { poolSize: 3 })).toThrow(/maxPool2d: input \[1,2,2,3\] is smaller than poolSize \[3,3\]/);
    expect(() => g.avgPool2d(g.zeros([1, 6, 6, 3]), { poolSize: 2, padding: [2, 0, 0, 0] })).toThrow(/avgPool2d: padding \[2,0,0,0\] must be smaller than poolSize \[2,2\]/);
    expect(() => g.avgPool2d(g.zeros([1, 6, 6, 3]), { poolSize: 0 })).toThrow(/avgPool2d: poolSize must be positive integers/);
    expect(() => g.maxPool2d(g.zeros([1, 6, 6, 3]), { poolSize: 2, strides: [1, 1.5] })).toThrow(/maxPool2d: strides must be positive integers/);
  });
});
