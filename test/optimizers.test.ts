// Optimizers: several fused GPU steps vs the float64 reference, clipping, state round trips, convergence.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { adam, adamw, sgd, optimizerFromConfig, type BaseOptimizer } from '../src/train/optimizers/index.js';
import { clipByGlobalNorm, clipByNorm, globalNorm } from '../src/ops/clip.js';
import { exponentialDecay } from '../src/train/schedules.js';
import { RefOptimizer, refClipByGlobalNorm, refClipByNorm, type RefOptimizerConfig } from '../src/reference/optimizers.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

const SHAPES = [[3, 5], [37], [2, 2, 3, 3]];
const TOL = { atol: 2e-6, rtol: 2e-5 };

/** Runs `steps` updates on the GPU and on the reference with the same random grads; compares params and slots. */
async function compareSteps(opt: BaseOptimizer, refCfg: RefOptimizerConfig, steps: number, gradRange: [number, number] = [-1, 1]): Promise<void> {
  const init = SHAPES.map((s, k) => randomValues(s.reduce((a, b) => a * b, 1), 50 + k));
  const params = init.map((v, k) => g.tensor(v, SHAPES[k]!));
  const refParams = init.map((v) => Float64Array.from(v));
  const ref = new RefOptimizer(refCfg);
  for (let step = 0; step < steps; step++) {
    const gv = SHAPES.map((_, k) => randomValues(init[k]!.length, 1000 + 10 * step + k, ...gradRange));
    const grads = gv.map((v, k) => g.tensor(v, SHAPES[k]!));
    opt.applyGradients(params.map((param, k) => ({ param, grad: grads[k]!, name: `w${k}` })));
    ref.step(refParams, gv);
    grads.forEach((t) => t.dispose());
  }
  expect(opt.iterations).toBe(steps);
  for (let k = 0; k < params.length; k++) expectClose(await params[k]!.data(), refParams[k]!, TOL, `${opt.className} param ${k}`);
  const slots = opt.getState().slots;
  if (refCfg.kind === 'adam') {
    for (let k = 0; k < params.length; k++) {
      expectClose(await slots[`w${k}/m`]!.data(), ref.m[k]!, TOL, `m ${k}`);
      expectClose(await slots[`w${k}/v`]!.data(), ref.v[k]!, TOL, `v ${k}`);
    }
  } else if (refCfg.momentum) {
    for (let k = 0; k < params.length; k++) expectClose(await slots[`w${k}/momentum`]!.data(), ref.m[k]!, TOL, `momentum ${k}`);
  }
  params.forEach((t) => t.dispose());
  opt.dispose();
}

describe('optimizer steps match the float64 reference', () => {
  it('SGD', () => compareSteps(sgd({ learningRate: 0.1 }), { kind: 'sgd', lr: 0.1 }, 4));
  it('SGD with momentum', () => compareSteps(sgd({ learningRate: 0.05, momentum: 0.9 }), { kind: 'sgd', lr: 0.05, momentum: 0.9 }, 5));
  it('SGD with Nesterov momentum', () =>
    compareSteps(sgd({ learningRate: 0.05, momentum: 0.8, nesterov: true }), { kind: 'sgd', lr: 0.05, momentum: 0.8, nesterov: true }, 5));
  it('Adam (Keras defaults)', () => compareSteps(adam(), { kind: 'adam', lr: 0.001 }, 6));
  it('Adam with tiny gradients, where epsilon matters', () =>
    compareSteps(adam({ learningRate: 0.01, epsilon: 1e-3 }), { kind: 'adam', lr: 0.01, epsilon: 1e-3 }, 4, [-1e-3, 1e-3]));
  it('AdamW with decoupled weight decay', () =>
    compareSteps(adamw({ learningRate: 0.01, weightDecay: 0.1 }), { kind: 'adam', lr: 0.01, weightDecay: 0.1 }, 5));
  it('AdamW skips decay for excluded names', async () => {
    const opt = adamw({ learningRate: 0.1, weightDecay: 0.5, excludeFromWeightDecay: ['bias'] });
    const k = g.ones([2]);
    const b = g.ones([2]);
    const zero = g.zeros([2]);
    opt.applyGradients([{ param: k, grad: zero, name: 'dense/kernel' }, { param: b, grad: zero, name: 'dense/bias' }]);
    expectClose(await k.data(), [0.95, 0.95], TOL);
    expect(await b.array()).toEqual([1, 1]);
    expect(optimizerFromConfig(opt.getConfig()).getConfig()).toEqual(opt.getConfig());
    opt.dispose();
  });
  it('AdamW defaults to weightDecay 0.004', () => {
    expect(adamw().weightDecay).toBe(0.004);
    expect(adam().weightDecay).toBe(0);
  });
  it('SGD with per-tensor clipNorm', () =>
    compareSteps(sgd({ learningRate: 0.1, momentum: 0.5, clipNorm: 0.5 }), { kind: 'sgd', lr: 0.1, momentum: 0.5, clipNorm: 0.5 }, 3));
  it('Adam with globalClipNorm', () =>
    compareSteps(adam({ learningRate: 0.01, globalClipNorm: 1.5 }), { kind: 'adam', lr: 0.01, globalClipNorm: 1.5 }, 4));
  it('Adam with an exponential-decay schedule evaluated at iterations', async () => {
    const sched = exponentialDecay({ initialLearningRate: 0.05, decaySteps: 2, decayRate: 0.5 });
    await compareSteps(adam({ learningRate: sched }), { kind: 'adam', lr: (s) => 0.05 * 0.5 ** (s / 2) }, 5);
  });
});

describe('optimizer mechanics', () => {
  it('runs exactly one kernel per parameter per step without clipping', () => {
    const opt = adam();
    const ps = SHAPES.map((s) => g.zeros(s));
    const gs = SHAPES.map((s) => g.ones(s));
    const pairs = ps.map((param, k) => ({ param, grad: gs[k]!, name: `p${k}` }));
    opt.applyGradients(pairs);
    const before = device().dispatchCount;
    opt.applyGradients(pairs);
    expect(device().dispatchCount - before).toBe(SHAPES.length);
    opt.dispose();
  });

  it('resumes exactly from getState/setState, including the schedule position', async () => {
    const make = () => adam({ learningRate: exponentialDecay({ initialLearningRate: 0.02, decaySteps: 3, decayRate: 0.7 }) });
    const v0 = randomValues(15, 7);
    const grads = [0, 1, 2, 3, 4].map((s) => g.tensor(randomValues(15, 70 + s), [3, 5]));
    const a = g.tensor(v0, [3, 5]);
    const optA = make();
    for (const grad of grads) optA.applyGradients([{ param: a, grad, name: 'w' }]);

    const b = g.tensor(v0, [3, 5]);
    const optB = make();
    for (const grad of grads.slice(0, 3)) optB.applyGradients([{ param: b, grad, name: 'w' }]);
    const saved = optB.getState();
    const optC = optimizerFromConfig(optB.getConfig());
    optC.setState(saved);
    optB.dispose();
    expect(optC.iterations).toBe(3);
    expect(optC.currentLearningRate()).toBeCloseTo(0.02 * 0.7 ** 1, 12);
    for (const grad of grads.slice(3)) optC.applyGradients([{ param: b, grad, name: 'w' }]);
    expect(await b.array()).toEqual(await a.array());
    optA.dispose();
    optC.dispose();
  });

  it('setState rejects wrong shapes, unknown slots and missing slots with clear errors', () => {
    const opt = adam();
    const p = g.zeros([2, 3]);
    opt.applyGradients([{ param: p, grad: g.ones([2, 3]), name: 'dense/kernel' }]);
    const m = g.zeros([3, 2]);
    const v = g.zeros([2, 3]);
    expect(() => opt.setState({ iterations: 1, slots: { 'dense/kernel/m': m, 'dense/kernel/v': v } })).toThrow(
      /slot 'dense\/kernel\/m' has shape \[2,3\], state has \[3,2\]/,
    );
    expect(() => opt.setState({ iterations: 1, slots: { 'dense/kernel/momentum': v } })).toThrow(/unexpected slot 'dense\/kernel\/momentum'/);
    expect(() => opt.setState({ iterations: 1, slots: { 'dense/kernel/v': v } })).toThrow(/lacks slots dense\/kernel\/m/);
    expect(() => opt.applyGradients([{ param: p, grad: g.ones([3, 2]), name: 'x' }])).toThrow(/'x' has shape \[2,3\] but its gradient has \[3,2\]/);
    expect(() => sgd({ clipNorm: 1, globalClipNorm: 1 })).toThrow(/only one of clipNorm and globalClipNorm/);
    opt.dispose();
  });

  it('slots survive an enclosing tidy', async () => {
    const opt = sgd({ learningRate: 1, momentum: 0.5 });
    const p = g.zeros([4]);
    g.tidy(() => {
      opt.applyGradients([{ param: p, grad: g.ones([4]), name: 'w' }]);
    });
    opt.applyGradients([{ param: p, grad: g.ones([4]), name: 'w' }]);
    // m1 = -1, p1 = -1; m2 = -0.5 - 1 = -1.5, p2 = -2.5
    expect(await p.array()).toEqual([-2.5, -2.5, -2.5, -2.5]);
    opt.dispose();
  });
});

describe('convergence on a quadratic', () => {
  // f(x) = sum(a * (x - c)^2) with a in [0.5, 2]: the minimum is x = c.
  async function converge(opt: BaseOptimizer, steps: number): Promise<number> {
    const n = 24;
    const a = g.tensor(randomValues(n, 3, 0.5, 2), [n]);
    const c = g.tensor(randomValues(n, 4, -2, 2), [n]);
    const x = g.zeros([n]).requireGrad();
    for (let s = 0; s < steps; s++) {
      g.tidy(() => {
        const loss = g.sum(g.mul(a, g.squaredDifference(x, c)));
        loss.backward();
        opt.applyGradients([{ param: x, grad: x.grad!, name: 'x' }]);
        x.grad!.dispose();
        x.grad = null;
      });
    }
    const got = await x.data();
    const want = await c.data();
    let err = 0;
    for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
    opt.dispose();
    return err;
  }

  it('SGD reaches the minimum', async () => {
    expect(await converge(sgd({ learningRate: 0.1 }), 150)).toBeLessThan(1e-4);
  });

  it('Adam reaches the minimum', async () => {
    expect(await converge(adam({ learningRate: 0.1 }), 300)).toBeLessThan(1e-2);
  });
});

describe('gradient clipping on the GPU', () => {
  const shapes = [[3, 4], [64, 80], [7]];
  const values = shapes.map((s, k) => randomValues(s.reduce((a, b) => a * b, 1), 90 + k));

  for (const clip of [0.5, 1e4]) {
    it(`clipByGlobalNorm matches the reference (clip ${clip})`, async () => {
      const ts = values.map((v, k) => g.tensor(v, shapes[k]!));
      const out = clipByGlobalNorm(ts, clip);
      const want = refClipByGlobalNorm(values, clip);
      for (let k = 0; k < ts.length; k++) expectClose(await out[k]!.data(), want[k]!, { atol: 1e-6, rtol: 1e-5 }, `tensor ${k}`);
      let s = 0;
      for (const v of values) for (const x of v) s += x * x;
      expectClose(await globalNorm(ts).data(), [Math.sqrt(s)], { atol: 0, rtol: 1e-5 }, 'global norm');
    });
  }

  it('clipByNorm matches the reference', async () => {
    const t = g.tensor(values[1]!, shapes[1]!);
    expectClose(await clipByNorm(t, 2).data(), refClipByNorm(values[1]!, 2), { atol: 1e-6, rtol: 1e-5 });
  });

  it('turns every gradient into NaN when the global norm is infinite (Keras)', async () => {
    const out = clipByGlobalNorm([g.tensor([1, Infinity]), g.tensor([2, 3])], 1);
    expect((await out[1]!.array()).every(Number.isNaN)).toBe(true);
  });

  it('leaves zero gradients at zero', async () => {
    const out = clipByGlobalNorm([g.zeros([5])], 1);
    expect(await out[0]!.array()).toEqual([0, 0, 0, 0, 0]);
  });
});
