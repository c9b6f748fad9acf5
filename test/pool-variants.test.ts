// Every pooling variant ('register', 'workgroup', 'subgroup'), forced in turn: global average pooling forward
// against the float64 oracle (single and chunked passes, scalar and vec4 lanes, partial lane tiles) and its backward
// against central differences; max/avg pooling under each (their kernels are shared); refusals; the tuning job.

import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { configureTuner, resetTuner, tunerIdle, tunerRecords } from '../src/gpu/tuner.js';
import { capsOf, forceVariant, withVariant } from '../src/gpu/variants.js';
import { gapReduce, POOL_VARIANTS, poolVariant, poolVariantUnsupported, type PoolVariant } from '../src/ops/pool-reduce.js';
import { ref } from '../src/reference/index.js';
import { avgPool2dRef, globalAvgPoolRef, maxPool2dRef, type RefPoolOptions } from '../src/reference/pool.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const runnable = (v: PoolVariant) => poolVariantUnsupported(capsOf(device()), v) === null;

for (const variant of POOL_VARIANTS) {
  describe(`pool variant '${variant}'`, () => {
    it('global average pooling matches the oracle (one pass and chunked, scalar and vec4 lanes)', async () => {
      if (!runnable(variant)) {
        // NOTE: an adapter without the feature must refuse the forced variant with a message naming it.
        await withVariant('pool', variant, () => {
          expect(() => g.globalAvgPool(g.zeros([1, 2, 2, 4]))).toThrow(`Graft pool: variant '${variant}' cannot run on this adapter`);
        });
        return;
      }
      // 33x17 and 64x64 rows per image split into chunks; C = 3, 5, 70 scalar lanes (70: a partial 16-lane tile),
      // 8 and 20 vec4 lanes; 1x1 maps.
      const shapes = [[2, 7, 7, 5], [1, 1, 1, 3], [3, 33, 17, 6], [1, 64, 64, 2], [3, 33, 17, 12], [2, 5, 5, 70], [3, 7, 7, 20], [1, 1, 1, 4]];
      for (const [k, s] of shapes.entries()) {
        const v = randomValues(size(s), 600 + k, -2, 2);
        for (const keepDims of [false, true]) {
          const y = await withVariant('pool', variant, () => g.globalAvgPool(g.tensor(v, s), { keepDims }));
          await expectTensor(y, globalAvgPoolRef(ref(v, s), keepDims), { atol: 1e-5, rtol: 1e-5 }, `${variant} ${JSON.stringify(s)} keepDims=${keepDims}`);
        }
      }
    });

    it('splits a large map into several chunks (the two-pass path is exercised)', () => {
      if (!runnable(variant)) return;
      const x = g.zeros([1, 64, 64, 8]);
      const y = g.zeros([1, 8]);
      expect(gapReduce(x, y, 1, 64 * 64, 8, variant).s).toBeGreaterThan(1);
      x.dispose();
      y.dispose();
    });

    it('global average pooling backward matches central differences', async () => {
      if (!runnable(variant)) return;
      await withVariant('pool', variant, async () => {
        for (const [s, keepDims] of [[[2, 3, 3, 5], false], [[2, 3, 5, 8], true], [[3, 33, 17, 6], false]] as [number[], boolean][]) {
          await gradCheck({ shapes: [s], gpu: ([x]) => g.globalAvgPool(x!, { keepDims }), ref: ([x]) => globalAvgPoolRef(x!, keepDims) });
        }
      });
    });

    it('max and average pooling, whose kernels every variant shares, still match the oracle', async () => {
      if (!runnable(variant)) return;
      const s = [2, 7, 7, 8];
      const o: RefPoolOptions = { poolSize: 3, strides: 2, padding: 'same' };
      const v = randomValues(size(s), 700, -2, 2);
      await withVariant('pool', variant, async () => {
        await expectTensor(g.maxPool2d(g.tensor(v, s), o), maxPool2dRef(ref(v, s), o), { atol: 0, rtol: 0 }, 'max');
        await expectTensor(g.avgPool2d(g.tensor(v, s), o), avgPool2dRef(ref(v, s), o), { atol: 1e-6, rtol: 1e-5 }, 'avg');
        await gradCheck({ shapes: [[1, 5, 5, 3]], gpu: ([x]) => g.avgPool2d(x!, o), ref: ([x]) => avgPool2dRef(x!, o) });
      });
    });
  });
}

describe('pool variant selection', () => {
  afterEach(() => {
    configureTuner({ mode: 'off', store: null });
    resetTuner();
  });

  it('runs the forced variant and rejects unknown names', () => {
    expect(poolVariant(device(), 2, 49, 8)).toBe('register');
    const restore = forceVariant('pool', 'workgroup');
    expect(poolVariant(device(), 2, 49, 8)).toBe('workgroup');
    const inner = forceVariant('pool', 'tiled');
    expect(() => g.globalAvgPool(g.zeros([1, 2, 2, 4]))).toThrow("Graft pool: unknown variant 'tiled' (known: register, workgroup, subgroup)");
    inner();
    restore();
  });

  it('refuses variants the adapter cannot run, naming family, variant and the missing feature or limit', () => {
    const caps = {
      features: new Set<string>(),
      limits: { maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 8, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 },
    };
    expect(poolVariantUnsupported(caps, 'subgroup')).toBe("Graft pool: variant 'subgroup' cannot run on this adapter: the adapter lacks the 'subgroups' feature");
    expect(poolVariantUnsupported(caps, 'workgroup')).toBe("Graft pool: variant 'workgroup' cannot run on this adapter: workgroup 16x16 exceeds the adapter's 256x8");
    expect(poolVariantUnsupported(caps, 'register')).toBeNull();
  });

  it('tunes a bucket: every runnable variant passes the probe against the register one and gets a time', async () => {
    configureTuner({ mode: 'on', store: null, budgetMs: 5 });
    const x = g.randomUniform([2, 14, 14, 8], -1, 1, { seed: 4 });
    const y = g.globalAvgPool(x);
    await tunerIdle();
    const rec = tunerRecords().find((r) => r.key.endsWith('|pool|n1hw8c3a1'));
    expect(rec?.error).toBeUndefined();
    for (const v of POOL_VARIANTS.filter(runnable)) expect(rec!.ms[v]).toBeGreaterThan(0);
    x.dispose();
    y.dispose();
  });
});
