// Every pooling variant ('register', 'workgroup', 'subgroup'), forced in turn: global average pooling forward
// against the float64 oracle (single and chunked passes, scalar and vec4 lanes, partial lane tiles) and its backward
// against central differences; max/avg pooling forward (tiled under 'workgroup') against the oracle and their
// backward; refusals; the tuning jobs.

import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { configureTuner, resetTuner, tunerIdle, tunerRecords } from '../src/gpu/tuner.js';
import { capsOf, forceVariant, withVariant } from '../src/gpu/variants.js';
import { gapReduce, POOL_VARIANTS, poolVariant, poolVariantUnsupported, type PoolVariant } from '../src/ops/pool-reduce.js';
import { poolGeometry } from '../src/ops/pool.js';
import { tiledPoolUnsupported, windowBucket } from '../src/ops/pool-tiled.js';
import { ref } from '../src/reference/index.js';
import { avgPool2dRef, globalAvgPoolRef, maxPool2dBackwardRef, maxPool2dRef, type RefPoolOptions } from '../src/reference/pool.js';
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

    it('max and average pooling forward match the oracle, and their backward central differences', async () => {
      if (!runnable(variant)) return;
      // NOTE: 'workgroup' tiles 16 output columns: OW = 3, 17 (a partial tile) and 28; C 5 (scalar) and 8, 12 (vec4).
      const configs: [number[], RefPoolOptions][] = [
        [[2, 7, 7, 5], { poolSize: 3, strides: 2, padding: 'same' }],
        [[1, 6, 6, 8], { poolSize: 2 }],
        [[3, 7, 7, 12], { poolSize: 3, strides: 2, padding: 'valid' }],
        [[1, 9, 34, 5], { poolSize: [3, 2], strides: [2, 2], padding: [1, 1, 0, 1] }],
        [[2, 5, 28, 8], { poolSize: 3, strides: 1, padding: 'same' }],
      ];
      for (const [k, [s, o]] of configs.entries()) {
        const v = randomValues(size(s), 700 + k, -2, 2);
        const label = `${variant} ${JSON.stringify(s)} ${JSON.stringify(o)}`;
        await withVariant('pool', variant, async () => {
          await expectTensor(g.maxPool2d(g.tensor(v, s), o), maxPool2dRef(ref(v, s), o), { atol: 0, rtol: 0 }, `max ${label}`);
          await expectTensor(g.avgPool2d(g.tensor(v, s), o), avgPool2dRef(ref(v, s), o), { atol: 1e-6, rtol: 1e-5 }, `avg ${label}`);
        });
      }
      // NOTE: ties in every window (two levels) check the first-in-scan-order rule through the recorded arg-max.
      const s = [2, 7, 7, 8];
      const o: RefPoolOptions = { poolSize: 3, strides: 2, padding: 'same' };
      const levels = randomValues(size(s), 11, 0, 1).map((x) => (x < 0.5 ? 1 : 2));
      const dy = randomValues(2 * 4 * 4 * 8, 12);
      await withVariant('pool', variant, async () => {
        const x = g.tensor(levels, s, { requiresGrad: true });
        g.maxPool2d(x, o).backward(g.tensor(dy, [2, 4, 4, 8]));
        await expectTensor(x.grad!, maxPool2dBackwardRef(ref(levels, s), ref(dy, [2, 4, 4, 8]), o), { atol: 1e-6, rtol: 1e-6 }, 'max ties');
        await gradCheck({ shapes: [[1, 5, 5, 3]], gpu: ([a]) => g.maxPool2d(a!, o), ref: ([a]) => maxPool2dRef(a!, o), ranges: [[-3, 3]] });
        await gradCheck({ shapes: [[1, 5, 5, 3]], gpu: ([a]) => g.avgPool2d(a!, o), ref: ([a]) => avgPool2dRef(a!, o) });
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

  it('tunes a windowed-pooling bucket: the tiled forward passes the probe against the register one', async () => {
    configureTuner({ mode: 'on', store: null, budgetMs: 5 });
    const x = g.randomUniform([2, 15, 15, 8], -1, 1, { seed: 5 });
    const o = { poolSize: 3, strides: 2, padding: 'same' } as const;
    const y = g.maxPool2d(x, o);
    await tunerIdle();
    const rec = tunerRecords().find((r) => r.key.endsWith(`|pool|${windowBucket(x.shape, poolGeometry('maxPool2d', x.shape, o), 0)}`));
    expect(rec?.error).toBeUndefined();
    for (const v of ['register', 'workgroup']) expect(rec!.ms[v]).toBeGreaterThan(0);
    x.dispose();
    y.dispose();
  });

  it('refuses the tiled forward when a window needs more workgroup memory than the adapter has', () => {
    const caps = {
      features: new Set<string>(['subgroups']),
      limits: { maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 },
    };
    const geom = { kh: 7, kw: 7, sh: 2, sw: 2, pt: 0, pl: 0, oh: 4, ow: 4 };
    // NOTE: 7 rows x (15*2 + 7) columns x 8 lanes x 16 bytes = 33152 bytes.
    expect(tiledPoolUnsupported(caps, geom, 8)).toBe(
      "Graft pool: variant 'workgroup' cannot run on this adapter for a 7x7/2x2 window: 33152 bytes of workgroup memory exceed maxComputeWorkgroupStorageSize 16384",
    );
    expect(tiledPoolUnsupported(caps, { ...geom, kh: 3, kw: 3 }, 8)).toBeNull();
  });
});
