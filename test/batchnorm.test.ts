// Batch normalization (training, inference), moving statistics, folding and scaleShift: forward vs the float64
// oracle, backward vs central differences.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { ref, type RefTensor } from '../src/reference/index.js';
import {
  batchNormInferenceRef, batchNormTrainRef, channelMomentsRef, foldBatchNormRef, movingUpdateRef, scaleShiftRef,
} from '../src/reference/batchnorm.js';
import { expectClose, expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const EPS = 1e-3;
const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Random input, gamma and beta for shape s (gamma kept away from 0). */
function inputs(s: number[], seed: number, lo = -2, hi = 2) {
  const c = s[s.length - 1]!;
  return { x: randomValues(size(s), seed, lo, hi), gamma: randomValues(c, seed + 1, 0.5, 1.5), beta: randomValues(c, seed + 2, -1, 1) };
}

describe('batchNormTrain forward', () => {
  // NHWC with odd sizes, C not a multiple of 4 (scalar kernels) and of 4 (vec4 kernels), batch 1 and 3, rank 2,
  // and M = 8192 rows split into many chunks.
  const shapes = [[2, 5, 5, 3], [3, 7, 7, 6], [1, 4, 4, 8], [5, 4], [8, 32, 32, 3], [4, 32, 32, 8], [3, 7, 7, 1]];
  for (const [k, s] of shapes.entries()) {
    for (const affine of [true, false]) {
      it(`${JSON.stringify(s)} ${affine ? 'with' : 'without'} gamma/beta matches the oracle`, async () => {
        const v = inputs(s, 10 * k + 1);
        const c = s[s.length - 1]!;
        const gamma = affine ? g.tensor(v.gamma, [c]) : null;
        const beta = affine ? g.tensor(v.beta, [c]) : null;
        const r = batchNormTrainRef(ref(v.x, s), affine ? ref(v.gamma, [c]) : null, affine ? ref(v.beta, [c]) : null, EPS);
        const out = g.batchNormTrain(g.tensor(v.x, s), gamma, beta, EPS);
        await expectTensor(out.mean, r.mean, { atol: 1e-6, rtol: 1e-5 }, 'mean');
        await expectTensor(out.variance, r.variance, { atol: 1e-6, rtol: 1e-4 }, 'variance');
        await expectTensor(out.y, r.y, { atol: 1e-4, rtol: 1e-4 }, 'y');
      });
    }
  }

  for (const c of [5, 8]) {
    it(`stays accurate for a large mean (x = 1000 + small noise) against float64, C = ${c}`, async () => {
      const s = [4, 16, 16, c];
      const x = randomValues(size(s), 77, 999.95, 1000.05);
      const out = g.batchNormTrain(g.tensor(x, s), null, null, 1e-6);
      const r = batchNormTrainRef(ref(x, s), null, null, 1e-6);
      await expectTensor(out.mean, r.mean, { atol: 0, rtol: 1e-7 }, 'mean');
      // NOTE: the variance is ~8e-4; a one-pass E[x^2] - E[x]^2 in float32 would be off by more than 100%.
      await expectTensor(out.variance, r.variance, { atol: 0, rtol: 2e-3 }, 'variance');
      await expectTensor(out.y, r.y, { atol: 2e-3, rtol: 2e-3 }, 'y');
    });
  }

  it('returns statistics that can be disposed before the backward', async () => {
    const s = [2, 3, 3, 4];
    const v = inputs(s, 5);
    const x = g.tensor(v.x, s, { requiresGrad: true });
    const out = g.batchNormTrain(x, null, null, EPS);
    out.mean.dispose();
    out.variance.dispose();
    g.sum(g.mul(out.y, g.tensor(randomValues(size(s), 6), s))).backward();
    expect(x.grad!.shape).toEqual(s);
  });
});

describe('batchNormTrain backward', () => {
  const cases: { s: number[]; affine: boolean; mode?: 'full' | 'directional' }[] = [
    { s: [2, 3, 3, 3], affine: true },
    { s: [3, 2, 5], affine: false },
    { s: [6, 4], affine: true },
    { s: [1, 3, 3, 5], affine: true },
    { s: [3, 7, 7, 12], affine: true, mode: 'directional' },
    { s: [2, 9, 9, 7], affine: false, mode: 'directional' },
  ];
  for (const { s, affine, mode } of cases) {
    it(`${JSON.stringify(s)} ${affine ? 'with' : 'without'} gamma/beta matches central differences (${mode ?? 'full'})`, async () => {
      const c = s[s.length - 1]!;
      await gradCheck({
        shapes: affine ? [s, [c], [c]] : [s],
        ranges: [[-2, 2], [0.5, 1.5], [-1, 1]],
        gpu: ([x, ga, be]) => g.batchNormTrain(x!, ga ?? null, be ?? null, EPS).y,
        ref: ([x, ga, be]) => batchNormTrainRef(x!, ga ?? null, be ?? null, EPS).y,
        ...(mode ? { mode } : {}),
      });
    });
  }

  it('gives gamma and beta gradients when x does not require grad', async () => {
    const s = [2, 4, 4, 3];
    const v = inputs(s, 31);
    const x = g.tensor(v.x, s);
    await gradCheck({
      shapes: [[3], [3]],
      values: [v.gamma, v.beta],
      gpu: ([ga, be]) => g.batchNormTrain(x, ga!, be!, EPS).y,
      ref: ([ga, be]) => batchNormTrainRef(ref(v.x, s), ga!, be!, EPS).y,
    });
  });
});

describe('batchNormInference', () => {
  /** Moving statistics unlike the batch's, so that inference and training differ. */
  function moving(c: number, seed: number) {
    return { mean: randomValues(c, seed, -0.5, 0.5), variance: randomValues(c, seed + 1, 0.5, 2) };
  }

  for (const s of [[2, 5, 5, 3], [1, 7, 7, 6], [4, 10]]) {
    it(`${JSON.stringify(s)} forward matches the oracle, with and without gamma/beta`, async () => {
      const c = s[s.length - 1]!;
      const v = inputs(s, 41);
      const m = moving(c, 43);
      for (const affine of [true, false]) {
        const y = g.batchNormInference(g.tensor(v.x, s), g.tensor(m.mean, [c]), g.tensor(m.variance, [c]),
          affine ? g.tensor(v.gamma, [c]) : null, affine ? g.tensor(v.beta, [c]) : null, EPS);
        const r = batchNormInferenceRef(ref(v.x, s), ref(m.mean, [c]), ref(m.variance, [c]),
          affine ? ref(v.gamma, [c]) : null, affine ? ref(v.beta, [c]) : null, EPS);
        await expectTensor(y, r, { atol: 1e-5, rtol: 1e-5 }, `inference affine=${affine}`);
      }
    });
  }

  const grads: { s: number[]; affine: boolean; mode?: 'directional' }[] = [
    { s: [2, 3, 3, 3], affine: true },
    { s: [3, 5], affine: false },
    { s: [3, 7, 7, 12], affine: true, mode: 'directional' },
  ];
  for (const { s, affine, mode } of grads) {
    it(`${JSON.stringify(s)} ${affine ? 'with' : 'without'} gamma/beta backward matches central differences`, async () => {
      const c = s[s.length - 1]!;
      const m = moving(c, 47);
      const mm = g.tensor(m.mean, [c]);
      const mv = g.tensor(m.variance, [c]);
      await gradCheck({
        shapes: affine ? [s, [c], [c]] : [s],
        ranges: [[-2, 2], [0.5, 1.5], [-1, 1]],
        gpu: ([x, ga, be]) => g.batchNormInference(x!, mm, mv, ga ?? null, be ?? null, EPS),
        ref: ([x, ga, be]) => batchNormInferenceRef(x!, ref(m.mean, [c]), ref(m.variance, [c]), ga ?? null, be ?? null, EPS),
        ...(mode ? { mode } : {}),
      });
    });
  }

  it('differs from training mode until the moving statistics equal the batch statistics', async () => {
    const s = [3, 4, 4, 5];
    const v = inputs(s, 51, 1, 4);
    const x = g.tensor(v.x, s);
    const gamma = g.tensor(v.gamma, [5]);
    const beta = g.tensor(v.beta, [5]);
    const train = g.batchNormTrain(x, gamma, beta, EPS);
    // Keras' initial moving statistics: mean 0, variance 1.
    const fresh = g.batchNormInference(x, g.zeros([5]), g.ones([5]), gamma, beta, EPS);
    const yTrain = await train.y.data();
    const yFresh = await fresh.data();
    let maxDiff = 0;
    for (let i = 0; i < yTrain.length; i++) maxDiff = Math.max(maxDiff, Math.abs(yTrain[i]! - yFresh[i]!));
    expect(maxDiff).toBeGreaterThan(0.5);
    const same = g.batchNormInference(x, train.mean, train.variance, gamma, beta, EPS);
    expectClose(await same.data(), yTrain, { atol: 1e-5, rtol: 1e-5 }, 'inference with batch statistics');
  });
});

describe('updateMovingStats', () => {
  it('follows Keras: moving * momentum + batch * (1 - momentum), with the biased batch variance', async () => {
    const s = [4, 6, 6, 7];
    const v = inputs(s, 61);
    const r = channelMomentsRef(ref(v.x, s));
    const m0 = randomValues(7, 62, -1, 1);
    const v0 = randomValues(7, 63, 0.5, 2);
    const mm = g.tensor(m0, [7]);
    const mv = g.tensor(v0, [7]);
    let wantM: RefTensor = ref(m0, [7]);
    let wantV: RefTensor = ref(v0, [7]);
    for (const momentum of [0.99, 0.9]) {
      const out = g.batchNormTrain(g.tensor(v.x, s), null, null, EPS);
      g.updateMovingStats(mm, out.mean, momentum);
      g.updateMovingStats(mv, out.variance, momentum);
      wantM = movingUpdateRef(wantM, r.mean, momentum);
      wantV = movingUpdateRef(wantV, r.variance, momentum);
    }
    await expectTensor(mm, wantM, { atol: 1e-6, rtol: 1e-5 }, 'moving mean');
    await expectTensor(mv, wantV, { atol: 1e-6, rtol: 1e-5 }, 'moving variance');
  });

  it('defaults to momentum 0.99', async () => {
    const mm = g.tensor([1, 2], [2]);
    g.updateMovingStats(mm, g.tensor([3, -2], [2]));
    expectClose(await mm.data(), movingUpdateRef(ref([1, 2], [2]), ref([3, -2], [2]), 0.99).data, { atol: 1e-7, rtol: 1e-6 });
  });
});

describe('foldBatchNorm and scaleShift', () => {
  it('fold + scaleShift equals inference batch normalization, forward and backward', async () => {
    const s = [2, 5, 5, 6];
    const v = inputs(s, 71);
    const mean = randomValues(6, 72, -0.5, 0.5);
    const variance = randomValues(6, 73, 0.5, 2);
    const folded = foldBatchNormRef(ref(mean, [6]), ref(variance, [6]), ref(v.gamma, [6]), ref(v.beta, [6]), EPS);
    const f = g.foldBatchNorm(g.tensor(mean, [6]), g.tensor(variance, [6]), g.tensor(v.gamma, [6]), g.tensor(v.beta, [6]), EPS);
    await expectTensor(f.scale, folded.scale, { atol: 1e-6, rtol: 1e-5 }, 'scale');
    await expectTensor(f.shift, folded.shift, { atol: 1e-6, rtol: 1e-5 }, 'shift');
    const mm = g.tensor(mean, [6]);
    const mv = g.tensor(variance, [6]);
    await gradCheck({
      shapes: [s, [6], [6]],
      values: [v.x, v.gamma, v.beta],
      gpu: ([x, ga, be]) => {
        const { scale, shift } = g.foldBatchNorm(mm, mv, ga!, be!, EPS);
        return g.scaleShift(x!, scale, shift);
      },
      ref: ([x, ga, be]) => batchNormInferenceRef(x!, ref(mean, [6]), ref(variance, [6]), ga!, be!, EPS),
    });
  });

  it('folds without gamma and beta', async () => {
    const mean = randomValues(5, 74, -1, 1);
    const variance = randomValues(5, 75, 0.1, 3);
    const f = g.foldBatchNorm(g.tensor(mean, [5]), g.tensor(variance, [5]), null, null, EPS);
    const r = foldBatchNormRef(ref(mean, [5]), ref(variance, [5]), null, null, EPS);
    await expectTensor(f.scale, r.scale, { atol: 1e-6, rtol: 1e-5 }, 'scale');
    await expectTensor(f.shift, r.shift, { atol: 1e-6, rtol: 1e-5 }, 'shift');
  });

  for (const act of [undefined, 'linear', 'relu', 'relu6', 'sigmoid', 'silu'] as const) {
    it(`scaleShift ${act ?? 'linear'} forward and backward match the oracle`, async () => {
      const s = [3, 4, 4, 5];
      const x = randomValues(size(s), 81, -4, 4);
      const scale = randomValues(5, 82, -2, 2);
      const shift = randomValues(5, 83, -1, 1);
      const y = g.scaleShift(g.tensor(x, s), g.tensor(scale, [5]), g.tensor(shift, [5]), act);
      await expectTensor(y, scaleShiftRef(ref(x, s), ref(scale, [5]), ref(shift, [5]), act), { atol: 1e-5, rtol: 1e-5 }, 'forward');
      // Full Jacobian on a tiny shape, directional on a realistic one; kinks of relu/relu6 are not hit by these draws.
      await gradCheck({
        shapes: [[2, 3, 3, 5], [5], [5]],
        ranges: [[-4, 4], [-2, 2], [-1, 1]],
        gpu: ([a, sc, sh]) => g.scaleShift(a!, sc!, sh!, act),
        ref: ([a, sc, sh]) => scaleShiftRef(a!, sc!, sh!, act),
        seed: 90,
      });
      await gradCheck({
        shapes: [[2, 14, 14, 24], [24], [24]],
        ranges: [[-4, 4], [-2, 2], [-1, 1]],
        gpu: ([a, sc, sh]) => g.scaleShift(a!, sc!, sh!, act),
        ref: ([a, sc, sh]) => scaleShiftRef(a!, sc!, sh!, act),
        mode: 'directional',
        seed: 91,
      });
    });
  }
});

describe('batchNormTrain with a fused activation', () => {
  // NOTE: gamma up to 4 and beta up to 3 push z past relu6's upper kink; C = 5 runs the scalar kernels, 8 the vec4.
  for (const act of ['relu', 'relu6', 'sigmoid', 'silu'] as const) {
    for (const c of [5, 8]) {
      it(`${act}, C = ${c}: forward matches the oracle and the backward central differences`, async () => {
        const s = [3, 4, 4, c];
        const x = randomValues(size(s), 120 + c, -3, 3);
        const gamma = randomValues(c, 121 + c, 1, 4);
        const beta = randomValues(c, 122 + c, -1, 3);
        const r = batchNormTrainRef(ref(x, s), ref(gamma, [c]), ref(beta, [c]), EPS, act);
        const out = g.batchNormTrain(g.tensor(x, s), g.tensor(gamma, [c]), g.tensor(beta, [c]), EPS, act);
        await expectTensor(out.y, r.y, { atol: 1e-4, rtol: 1e-4 }, 'y');
        await expectTensor(out.mean, r.mean, { atol: 1e-6, rtol: 1e-5 }, 'mean');
        await expectTensor(out.variance, r.variance, { atol: 1e-6, rtol: 1e-4 }, 'variance');
        if (act === 'relu6') expect(Math.max(...((await out.y.data()) as Float32Array)), 'z reaches the upper clamp').toBe(6);
        await gradCheck({
          shapes: [[2, 3, 3, c], [c], [c]],
          ranges: [[-3, 3], [1, 4], [-1, 3]],
          gpu: ([a, ga, be]) => g.batchNormTrain(a!, ga!, be!, EPS, act).y,
          ref: ([a, ga, be]) => batchNormTrainRef(a!, ga!, be!, EPS, act).y,
          seed: 130 + c,
        });
        await gradCheck({
          shapes: [[2, 9, 9, c], [c], [c]],
          ranges: [[-3, 3], [1, 4], [-1, 3]],
          gpu: ([a, ga, be]) => g.batchNormTrain(a!, ga!, be!, EPS, act).y,
          ref: ([a, ga, be]) => batchNormTrainRef(a!, ga!, be!, EPS, act).y,
          mode: 'directional',
          seed: 140 + c,
        });
      });
    }
  }

  // Moving statistics (inference mode, Keras fine-tuning): the same fusion with constant statistics.
  for (const act of ['relu6', 'silu'] as const) {
    for (const c of [5, 8]) {
      it(`batchNormInference + ${act}, C = ${c}: forward matches the oracle and the backward central differences`, async () => {
        const s = [3, 4, 4, c];
        const mean = randomValues(c, 160 + c, -1, 1);
        const variance = randomValues(c, 161 + c, 0.5, 2);
        const mm = g.tensor(mean, [c]);
        const mv = g.tensor(variance, [c]);
        const x = randomValues(size(s), 162 + c, -3, 3);
        const gamma = randomValues(c, 163 + c, 1, 4);
        const beta = randomValues(c, 164 + c, -1, 3);
        const refOf = (a: RefTensor, ga: RefTensor | null, be: RefTensor | null) => batchNormInferenceRef(a, ref(mean, [c]), ref(variance, [c]), ga, be, EPS, act);
        const y = g.batchNormInference(g.tensor(x, s), mm, mv, g.tensor(gamma, [c]), g.tensor(beta, [c]), EPS, act);
        await expectTensor(y, refOf(ref(x, s), ref(gamma, [c]), ref(beta, [c])), { atol: 1e-4, rtol: 1e-4 }, 'y');
        await gradCheck({
          shapes: [[2, 3, 3, c], [c], [c]],
          ranges: [[-3, 3], [1, 4], [-1, 3]],
          gpu: ([a, ga, be]) => g.batchNormInference(a!, mm, mv, ga!, be!, EPS, act),
          ref: ([a, ga, be]) => refOf(a!, ga!, be!),
          seed: 170 + c,
        });
        await gradCheck({
          shapes: [[2, 9, 9, c]],
          ranges: [[-3, 3]],
          gpu: ([a]) => g.batchNormInference(a!, mm, mv, null, null, EPS, act),
          ref: ([a]) => refOf(a!, null, null),
          mode: 'directional',
          seed: 180 + c,
        });
      });
    }
  }

  it('without gamma and beta, the backward reaches x through the statistics and the activation', async () => {
    await gradCheck({
      shapes: [[2, 5, 5, 6]],
      ranges: [[-2, 2]],
      gpu: ([a]) => g.batchNormTrain(a!, null, null, EPS, 'silu').y,
      ref: ([a]) => batchNormTrainRef(a!, null, null, EPS, 'silu').y,
      mode: 'directional',
      seed: 150,
    });
  });

  it('rejects an unknown activation by name', () => {
    expect(() => g.batchNormTrain(g.zeros([2, 4]), null, null, EPS, 'gelu' as never)).toThrow("Graft batchNormTrain: unknown activation 'gelu'");
  });
});

describe('memory', () => {
  it('holds no tensors across training steps, with or without a backward', () => {
    const s = [2, 4, 4, 8];
    const v = inputs(s, 95);
    const x = g.tensor(v.x, s, { requiresGrad: true });
    const gamma = g.tensor(v.gamma, [8], { requiresGrad: true });
    const beta = g.tensor(v.beta, [8], { requiresGrad: true });
    const u = g.tensor(randomValues(size(s), 96), s);
    const mm = g.zeros([8]);
    const step = (withBackward: boolean) => {
      g.tidy(() => {
        const out = g.batchNormTrain(x, gamma, beta, EPS);
        g.updateMovingStats(mm, out.mean);
        const loss = g.sum(g.mul(g.batchNormInference(out.y, mm, g.ones([8]), gamma, beta, EPS), u));
        if (withBackward) loss.backward();
      });
      g.zeroGrad([x, gamma, beta]);
    };
    step(true);
    const before = g.memory().tensorsLive;
    for (const withBackward of [true, false, true]) step(withBackward);
    expect(g.memory().tensorsLive).toBe(before);
  });
});

describe('errors', () => {
  it('name the op and the shapes on channel mismatches', () => {
    const x = g.zeros([2, 4, 4, 3]);
    expect(() => g.batchNormTrain(x, g.ones([4]), null)).toThrow(/batchNormTrain: input \[2,4,4,3\] has 3 channels, gamma has shape \[4\]/);
    expect(() => g.batchNormTrain(x, null, g.ones([3, 1]))).toThrow(/batchNormTrain: input \[2,4,4,3\] has 3 channels, beta has shape \[3,1\]/);
    expect(() => g.batchNormInference(x, g.zeros([5]), g.ones([3]), null, null)).toThrow(/batchNormInference: input \[2,4,4,3\] has 3 channels, movingMean has shape \[5\]/);
    expect(() => g.scaleShift(x, g.ones([3]), g.zeros([2]))).toThrow(/scaleShift: input \[2,4,4,3\] has 3 channels, shift has shape \[2\]/);
    expect(() => g.foldBatchNorm(g.zeros([3]), g.ones([4]), null, null)).toThrow(/foldBatchNorm: .*\[3\] has 3 channels, movingVar has shape \[4\]/);
    expect(() => g.updateMovingStats(g.zeros([3]), g.zeros([4]))).toThrow(/updateMovingStats: moving statistic \[3\] and batch statistic \[4\]/);
  });

  it('rejects an empty batch and an unknown activation', () => {
    expect(() => g.batchNormTrain(g.zeros([0, 3]), null, null)).toThrow(/batchNormTrain: input \[0,3\] has no elements/);
    expect(() => g.scaleShift(g.zeros([2, 3]), g.ones([3]), g.zeros([3]), 'gelu' as 'relu')).toThrow(/scaleShift: unknown activation 'gelu'/);
  });
});
