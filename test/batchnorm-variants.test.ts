// Every batch-norm reduction variant ('register', 'workgroup', 'subgroup'), forced in turn: training statistics and
// output against the float64 oracle, the backward (plain, fused with an activation, and scaleShift's, through the
// same sums) against central differences; refusals on adapters without the feature or limits; and the tuning job.

import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { configureTuner, resetTuner, tunerIdle, tunerRecords } from '../src/gpu/tuner.js';
import { capsOf, forceVariant, withVariant } from '../src/gpu/variants.js';
import { BATCHNORM_VARIANTS, batchNormVariant, batchNormVariantUnsupported, type BatchNormVariant } from '../src/ops/batchnorm-reduce.js';
import { ref } from '../src/reference/index.js';
import { batchNormTrainRef, scaleShiftRef } from '../src/reference/batchnorm.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

const EPS = 1e-3;
const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

const runnable = (v: BatchNormVariant) => batchNormVariantUnsupported(capsOf(device()), v) === null;

for (const variant of BATCHNORM_VARIANTS) {
  describe(`batchnorm variant '${variant}'`, () => {
    it('training statistics and output match the oracle (scalar and vec4 lanes, partial tiles, many chunks)', async () => {
      if (!runnable(variant)) {
        // NOTE: an adapter without the feature must refuse the forced variant with a message naming it.
        await withVariant('batchnorm', variant, () => {
          expect(() => g.batchNormTrain(g.zeros([2, 4]), null, null)).toThrow(`Graft batchnorm: variant '${variant}' cannot run on this adapter`);
        });
        return;
      }
      // C = 3, 1, 70 (scalar lanes; 70 leaves a partial 16-lane tile), 8 and 20 (vec4 lanes), M from 1 to 8192 rows.
      const shapes = [[2, 5, 5, 3], [3, 7, 7, 1], [1, 4], [2, 3, 3, 70], [4, 32, 32, 8], [5, 4, 20], [8, 32, 32, 3]];
      for (const [k, s] of shapes.entries()) {
        const c = s[s.length - 1]!;
        const x = randomValues(size(s), 300 + k, -2, 3);
        const gamma = randomValues(c, 400 + k, 0.5, 1.5);
        const beta = randomValues(c, 500 + k);
        const r = batchNormTrainRef(ref(x, s), ref(gamma, [c]), ref(beta, [c]), EPS);
        const out = await withVariant('batchnorm', variant, () => g.batchNormTrain(g.tensor(x, s), g.tensor(gamma, [c]), g.tensor(beta, [c]), EPS));
        const label = `${variant} ${JSON.stringify(s)}`;
        await expectTensor(out.mean, r.mean, { atol: 1e-6, rtol: 1e-5 }, `${label} mean`);
        await expectTensor(out.variance, r.variance, { atol: 1e-6, rtol: 1e-4 }, `${label} variance`);
        await expectTensor(out.y, r.y, { atol: 1e-4, rtol: 1e-4 }, `${label} y`);
      }
    });

    it('stays accurate for a large mean (x = 1000 + small noise)', async () => {
      if (!runnable(variant)) return;
      for (const c of [5, 8]) {
        const s = [4, 16, 16, c];
        const x = randomValues(size(s), 77, 999.95, 1000.05);
        const out = await withVariant('batchnorm', variant, () => g.batchNormTrain(g.tensor(x, s), null, null, 1e-6));
        const r = batchNormTrainRef(ref(x, s), null, null, 1e-6);
        await expectTensor(out.mean, r.mean, { atol: 0, rtol: 1e-7 }, `${variant} C=${c} mean`);
        await expectTensor(out.variance, r.variance, { atol: 0, rtol: 2e-3 }, `${variant} C=${c} variance`);
      }
    });

    it('gives gradients that match central differences (batch norm, batch norm + activation and scaleShift sums)', async () => {
      if (!runnable(variant)) return;
      await withVariant('batchnorm', variant, async () => {
        await gradCheck({
          shapes: [[2, 3, 3, 3], [3], [3]],
          ranges: [[-2, 2], [0.5, 1.5], [-1, 1]],
          gpu: ([x, ga, be]) => g.batchNormTrain(x!, ga!, be!, EPS).y,
          ref: ([x, ga, be]) => batchNormTrainRef(x!, ga!, be!, EPS).y,
        });
        await gradCheck({
          shapes: [[3, 7, 7, 12], [12], [12]],
          ranges: [[-2, 2], [0.5, 1.5], [-1, 1]],
          gpu: ([x, ga, be]) => g.batchNormTrain(x!, ga!, be!, EPS).y,
          ref: ([x, ga, be]) => batchNormTrainRef(x!, ga!, be!, EPS).y,
          mode: 'directional',
        });
        await gradCheck({
          shapes: [[2, 9, 9, 7]],
          ranges: [[-2, 2]],
          gpu: ([x]) => g.batchNormTrain(x!, null, null, EPS).y,
          ref: ([x]) => batchNormTrainRef(x!, null, null, EPS).y,
          mode: 'directional',
        });
        // Batch norm fused with its activation (MODE 2 sums), scalar (C = 7) and vec4 (C = 12) lanes.
        for (const [c, act] of [[7, 'relu6'], [12, 'silu']] as const) {
          await gradCheck({
            shapes: [[3, 7, 7, c], [c], [c]],
            ranges: [[-3, 3], [1, 4], [-1, 3]],
            gpu: ([x, ga, be]) => g.batchNormTrain(x!, ga!, be!, EPS, act).y,
            ref: ([x, ga, be]) => batchNormTrainRef(x!, ga!, be!, EPS, act).y,
            mode: 'directional',
            seed: 60 + c,
          });
        }
        await gradCheck({
          shapes: [[2, 14, 14, 24], [24], [24]],
          ranges: [[-4, 4], [-2, 2], [-1, 1]],
          gpu: ([a, sc, sh]) => g.scaleShift(a!, sc!, sh!, 'silu'),
          ref: ([a, sc, sh]) => scaleShiftRef(a!, sc!, sh!, 'silu'),
          mode: 'directional',
          seed: 91,
        });
      });
    });
  });
}

describe('batchnorm variant selection', () => {
  afterEach(() => {
    configureTuner({ mode: 'off', store: null });
    resetTuner();
  });

  it('runs the forced variant and rejects unknown names', () => {
    expect(batchNormVariant(device(), 64, 8)).toBe('register');
    const restore = forceVariant('batchnorm', 'workgroup');
    expect(batchNormVariant(device(), 64, 8)).toBe('workgroup');
    const inner = forceVariant('batchnorm', 'tiled');
    expect(() => g.batchNormTrain(g.zeros([2, 4]), null, null)).toThrow("Graft batchnorm: unknown variant 'tiled' (known: register, workgroup, subgroup)");
    inner();
    restore();
  });

  it('refuses variants the adapter cannot run, naming family, variant and the missing feature or limit', () => {
    const caps = {
      features: new Set<string>(),
      limits: { maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupStorageSize: 16384 },
    };
    expect(batchNormVariantUnsupported(caps, 'subgroup')).toBe("Graft batchnorm: variant 'subgroup' cannot run on this adapter: the adapter lacks the 'subgroups' feature");
    expect(batchNormVariantUnsupported(caps, 'workgroup')).toBe(
      "Graft batchnorm: variant 'workgroup' cannot run on this adapter: workgroup of 256 invocations exceeds maxComputeInvocationsPerWorkgroup 128",
    );
    expect(batchNormVariantUnsupported(caps, 'register')).toBeNull();
  });

  it('tunes a bucket: every runnable variant passes the probe against the register one and gets a time', async () => {
    configureTuner({ mode: 'on', store: null, budgetMs: 5 });
    const x = g.randomUniform([4, 16, 16, 8], -1, 1, { seed: 3 });
    const out = g.batchNormTrain(x, null, null);
    await tunerIdle();
    const rec = tunerRecords().find((r) => r.key.endsWith('|batchnorm|m10c3a1'));
    expect(rec?.error).toBeUndefined();
    for (const v of BATCHNORM_VARIANTS.filter(runnable)) expect(rec!.ms[v]).toBeGreaterThan(0);
    for (const t of [x, out.y, out.mean, out.variance]) t.dispose();
  });
});
