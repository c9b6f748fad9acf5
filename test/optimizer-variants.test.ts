// Every optimizer-update variant ('vec4', 'scalar'), forced in turn, against the float64 reference optimizer on
// lengths that are and are not multiples of 4 (the vec4 variant's masked last vector), with clipping and decay;
// the refusal on an adapter with smaller limits; and the tuning job (both variants pass its probe).

import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { configureTuner, resetTuner, tunerIdle, tunerRecords } from '../src/gpu/tuner.js';
import { forceVariant, withVariant } from '../src/gpu/variants.js';
import { OPTIMIZER_VARIANTS, optimizerVariant, optimizerVariantUnsupported } from '../src/ops/optimizers.js';
import { adam, adamw, sgd, type BaseOptimizer } from '../src/train/optimizers/index.js';
import { RefOptimizer, type RefOptimizerConfig } from '../src/reference/optimizers.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

// NOTE: 1, 15 and 37 leave a partial last vec4; 36 and 1032 (five 64-invocation workgroups of vec4s) do not.
const SHAPES = [[1], [3, 5], [37], [2, 2, 3, 3], [1032]];
const TOL = { atol: 2e-6, rtol: 2e-5 };

/** `steps` updates of every shape on the GPU (variant forced) and on the reference; compares params and slots. */
async function compare(variant: string, opt: BaseOptimizer, cfg: RefOptimizerConfig, steps: number): Promise<void> {
  const init = SHAPES.map((s, k) => randomValues(s.reduce((a, b) => a * b, 1), 60 + k));
  const params = init.map((v, k) => g.tensor(v, SHAPES[k]!));
  const refParams = init.map((v) => Float64Array.from(v));
  const ref = new RefOptimizer(cfg);
  await withVariant('optimizer', variant, () => {
    for (let step = 0; step < steps; step++) {
      const gv = SHAPES.map((_, k) => randomValues(init[k]!.length, 2000 + 10 * step + k));
      const grads = gv.map((v, k) => g.tensor(v, SHAPES[k]!));
      opt.applyGradients(params.map((param, k) => ({ param, grad: grads[k]!, name: `w${k}` })));
      ref.step(refParams, gv);
      grads.forEach((t) => t.dispose());
    }
  });
  const label = `${variant} ${opt.className}`;
  for (let k = 0; k < params.length; k++) expectClose(await params[k]!.data(), refParams[k]!, TOL, `${label} param ${k}`);
  const slots = opt.getState().slots;
  for (let k = 0; k < params.length; k++) {
    if (cfg.kind === 'adam') {
      expectClose(await slots[`w${k}/m`]!.data(), ref.m[k]!, TOL, `${label} m ${k}`);
      expectClose(await slots[`w${k}/v`]!.data(), ref.v[k]!, TOL, `${label} v ${k}`);
    } else if (cfg.momentum) {
      expectClose(await slots[`w${k}/momentum`]!.data(), ref.m[k]!, TOL, `${label} momentum ${k}`);
    }
  }
  params.forEach((t) => t.dispose());
  opt.dispose();
}

for (const variant of OPTIMIZER_VARIANTS) {
  describe(`optimizer variant '${variant}'`, () => {
    it('SGD, with momentum, with Nesterov momentum and clipNorm match the reference', async () => {
      await compare(variant, sgd({ learningRate: 0.1 }), { kind: 'sgd', lr: 0.1 }, 3);
      await compare(variant, sgd({ learningRate: 0.05, momentum: 0.9, clipNorm: 0.5 }), { kind: 'sgd', lr: 0.05, momentum: 0.9, clipNorm: 0.5 }, 3);
      await compare(variant, sgd({ learningRate: 0.05, momentum: 0.8, nesterov: true }), { kind: 'sgd', lr: 0.05, momentum: 0.8, nesterov: true }, 3);
    });

    it('Adam with globalClipNorm and AdamW match the reference', async () => {
      await compare(variant, adam({ learningRate: 0.01, globalClipNorm: 1.5 }), { kind: 'adam', lr: 0.01, globalClipNorm: 1.5 }, 4);
      await compare(variant, adamw({ learningRate: 0.01, weightDecay: 0.1 }), { kind: 'adam', lr: 0.01, weightDecay: 0.1 }, 3);
    });
  });
}

describe('optimizer variant selection', () => {
  afterEach(() => {
    configureTuner({ mode: 'off', store: null });
    resetTuner();
  });

  it('runs the forced variant and rejects unknown names', () => {
    expect(optimizerVariant(device(), 'adam', 37)).toBe('vec4');
    const restore = forceVariant('optimizer', 'scalar');
    expect(optimizerVariant(device(), 'adam', 37)).toBe('scalar');
    const inner = forceVariant('optimizer', 'f16');
    const p = g.zeros([4]);
    expect(() => sgd().applyGradients([{ param: p, grad: p, name: 'p' }])).toThrow("Graft optimizer: unknown variant 'f16' (known: vec4, scalar)");
    inner();
    restore();
    p.dispose();
  });

  it('refuses a variant whose workgroup exceeds the adapter, naming family, variant and limit', () => {
    const caps = {
      features: new Set<string>(),
      limits: { maxComputeWorkgroupSizeX: 32, maxComputeWorkgroupSizeY: 32, maxComputeInvocationsPerWorkgroup: 32, maxComputeWorkgroupStorageSize: 16384 },
    };
    expect(optimizerVariantUnsupported(caps, 'vec4')).toBe("Graft optimizer: variant 'vec4' cannot run on this adapter: workgroup 64x1 exceeds the adapter's 32x32");
    expect(optimizerVariantUnsupported({ ...caps, limits: { ...caps.limits, maxComputeWorkgroupSizeX: 256, maxComputeInvocationsPerWorkgroup: 256 } }, 'scalar')).toBeNull();
  });

  it('tunes a bucket: both variants pass the probe against the scalar one and get a time', async () => {
    configureTuner({ mode: 'on', store: null, budgetMs: 5 });
    const p = g.zeros([1000]);
    const grad = g.ones([1000]);
    const opt = adam();
    opt.applyGradients([{ param: p, grad, name: 'p' }]);
    await tunerIdle();
    const rec = tunerRecords().find((r) => r.key.endsWith('|optimizer|adamn10a1'));
    expect(rec?.error).toBeUndefined();
    for (const v of OPTIMIZER_VARIANTS) expect(rec!.ms[v]).toBeGreaterThan(0);
    expect(OPTIMIZER_VARIANTS).toContain(rec!.chosen);
    opt.dispose();
    p.dispose();
    grad.dispose();
  });
});
