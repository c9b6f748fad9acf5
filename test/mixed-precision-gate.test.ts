// The gated skip of a loss-scaled step: around SGD (plain, momentum, Nesterov), Adam and AdamW, with clipNorm and
// globalClipNorm, in both optimizer variants, an overflowing step leaves every parameter and slot bit-identical (the
// update kernels read the GPU skip flag) and a finite step equals the inner optimizer on unscaled gradients; an
// optimizer whose kernels cannot gate is restored by the copy fallback; gradients are unscaled six per dispatch,
// exactly, with a non-finite value in any of the six flagged; and a wrapped step's dispatches are the inner step's
// plus about N / 6 unscales and one decide, with no buffer copy and no restore kernel.

import { describe, expect, it, vi } from 'vitest';
import * as g from '../src/index.js';
import { watchKernels } from '../src/gpu/counters.js';
import { withVariant } from '../src/gpu/variants.js';
import { adamUpdate, OPTIMIZER_VARIANTS } from '../src/ops/optimizers.js';
import { unscaleGradients, type LossScaleState } from '../src/ops/loss-scale.js';
import { getDevice } from '../src/tensor/engine.js';
import { RefOptimizer, type RefOptimizerConfig } from '../src/reference/optimizers.js';
import {
  Adam, adam, adamw, isLossScaleSlot, LossScaleOptimizer, sgd,
  type BaseOptimizer, type ClipInput, type GradientPair, type StepScalars,
} from '../src/train/optimizers/index.js';
import { expectClose, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

// NOTE: 37 and 15 leave a partial last vec4 (the masked tail of the 'vec4' variant); 8 does not.
const SHAPES = [[37], [3, 5], [8]];
const SIZES = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
// NOTE: a power of two, so unscaling is exact and the wrapped update can be compared with the plain one tightly.
const SCALE = 2 ** 10;
const TOL = { atol: 2e-6, rtol: 2e-5 };
const SAME = { atol: 1e-7, rtol: 1e-6 };

const CASES: [string, () => BaseOptimizer, RefOptimizerConfig][] = [
  ['SGD', () => sgd({ learningRate: 0.1 }), { kind: 'sgd', lr: 0.1 }],
  ['SGD momentum clipNorm', () => sgd({ learningRate: 0.05, momentum: 0.9, clipNorm: 0.5 }), { kind: 'sgd', lr: 0.05, momentum: 0.9, clipNorm: 0.5 }],
  ['SGD Nesterov globalClipNorm', () => sgd({ learningRate: 0.05, momentum: 0.8, nesterov: true, globalClipNorm: 1 }),
    { kind: 'sgd', lr: 0.05, momentum: 0.8, nesterov: true, globalClipNorm: 1 }],
  ['Adam clipNorm', () => adam({ learningRate: 0.01, clipNorm: 0.5 }), { kind: 'adam', lr: 0.01, clipNorm: 0.5 }],
  ['Adam globalClipNorm', () => adam({ learningRate: 0.01, globalClipNorm: 1.5 }), { kind: 'adam', lr: 0.01, globalClipNorm: 1.5 }],
  ['AdamW', () => adamw({ learningRate: 0.01, weightDecay: 0.1 }), { kind: 'adam', lr: 0.01, weightDecay: 0.1 }],
];

const bits = async (t: g.Tensor) => [...new Uint32Array(((await t.data()) as Float32Array).slice().buffer)];

/** Applies `grads` (values per parameter) to `params` through `opt`. */
function step(opt: { applyGradients(p: GradientPair[]): void }, params: g.Tensor[], grads: number[][]): void {
  const ts = grads.map((v, k) => g.tensor(v, SHAPES[k]!));
  opt.applyGradients(params.map((param, k) => ({ param, grad: ts[k]!, name: `w${k}` })));
  for (const t of ts) t.dispose();
}

/** The inner optimizer's slots of a wrapped one, by key (without the loss-scale state). */
function innerSlots(opt: LossScaleOptimizer): [string, g.Tensor][] {
  return Object.entries(opt.getState().slots).filter(([k]) => !isLossScaleSlot(k));
}

for (const variant of OPTIMIZER_VARIANTS) {
  describe(`a skipped loss-scaled step, optimizer variant '${variant}'`, () => {
    for (const [label, make, cfg] of CASES) {
      it(`${label}: a finite step equals the plain optimizer and the reference; an overflow leaves params and slots bit-identical`, async () => {
        await withVariant('optimizer', variant, async () => {
          const init = SIZES.map((n, k) => randomValues(n, 300 + k));
          const params = init.map((v, k) => g.tensor(v, SHAPES[k]!));
          const plainParams = init.map((v, k) => g.tensor(v, SHAPES[k]!));
          const refParams = init.map((v) => Float64Array.from(v));
          const wrapped = new LossScaleOptimizer(make(), { initialScale: SCALE });
          const plain = make();
          const ref = new RefOptimizer(cfg);
          const gv = SIZES.map((n, k) => [...randomValues(n, 400 + k)]);
          step(wrapped, params, gv.map((v) => v.map((x) => x * SCALE)));
          step(plain, plainParams, gv);
          ref.step(refParams, gv.map((v) => Float64Array.from(v)));
          for (let k = 0; k < params.length; k++) {
            const got = await params[k]!.data();
            expectClose(got, await plainParams[k]!.data(), SAME, `${label} param ${k} vs plain`);
            expectClose(got, refParams[k]!, TOL, `${label} param ${k} vs reference`);
          }
          const plainSlots = plain.getState().slots;
          const slots = innerSlots(wrapped);
          expect(slots.map(([k]) => k).sort()).toEqual(Object.keys(plainSlots).sort());
          for (const [k, t] of slots) expectClose(await t.data(), await plainSlots[k]!.data(), SAME, `${label} slot ${k} vs plain`);

          const before = await Promise.all([...params, ...slots.map(([, t]) => t)].map(bits));
          // NOTE: one non-finite element in one gradient (the odd-sized one) must skip every parameter's update.
          const bad = gv.map((v) => v.map((x) => x * SCALE));
          bad[1]![7] = Infinity;
          step(wrapped, params, bad);
          const after = await Promise.all([...params, ...slots.map(([, t]) => t)].map(bits));
          after.forEach((a, i) => expect(a, `${label} tensor ${i}`).toEqual(before[i]));
          expect(await wrapped.lossScale()).toEqual({ scale: SCALE / 2, goodSteps: 0 });

          for (const t of [...params, ...plainParams]) t.dispose();
          wrapped.dispose();
          plain.dispose();
        });
      });
    }
  });
}

/** A user's Adam whose updateOne runs the kernel without the gate (written before gates existed). */
class OwnAdam extends Adam {
  protected override updateOne(param: g.Tensor, grad: g.Tensor, slots: g.Tensor[], clip: ClipInput, s: StepScalars): void {
    adamUpdate(param, grad, slots[0]!, slots[1]!, clip, { alpha: s.lr, wdLr: s.wdLr, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon });
  }
}

describe('optimizers that cannot gate', () => {
  it('a subclass that overrides updateOne does not claim the gate, refuses a skip flag, and is restored by the fallback', async () => {
    expect([sgd().gatesSkippedSteps, adam().gatesSkippedSteps, adamw().gatesSkippedSteps]).toEqual([true, true, true]);
    const own = new OwnAdam({ learningRate: 0.1 });
    expect(own.gatesSkippedSteps).toBe(false);
    const params = SIZES.map((n, k) => g.tensor(randomValues(n, 500 + k), SHAPES[k]!));
    const flags = g.zeros([2]);
    expect(() => own.applyGradients(params.map((param, k) => ({ param, grad: param, name: `w${k}` })), flags))
      .toThrow("Graft Adam.applyGradients: this optimizer's update kernels do not honour a skip flag (gatesSkippedSteps is false)");
    const wrapped = new LossScaleOptimizer(own, { initialScale: 4 });
    const gv = SIZES.map((n, k) => [...randomValues(n, 600 + k)]);
    step(wrapped, params, gv);
    const tensors = [...params, ...innerSlots(wrapped).map(([, t]) => t)];
    expect(tensors).toHaveLength(9);
    const before = await Promise.all(tensors.map(bits));
    const bad = gv.map((v) => [...v]);
    bad[0]![36] = NaN;
    step(wrapped, params, bad);
    const after = await Promise.all(tensors.map(bits));
    after.forEach((a, i) => expect(a, `tensor ${i}`).toEqual(before[i]));
    step(wrapped, params, gv);
    expect(await bits(params[0]!)).not.toEqual(before[0]);
    for (const t of [...params, flags]) t.dispose();
    wrapped.dispose();
  });
});

describe('unscaleGradients', () => {
  // NOTE: 13 gradients: two six-gradient dispatches (every binding of unscale6 in use) and one single unscale.
  const LENGTHS = [300, 1, 17, 64, 5, 260, 33, 2, 129, 7, 1025, 40, 9];
  const SORTED = [...LENGTHS].sort((a, b) => a - b);

  it('divides every gradient by the scale exactly and flags a non-finite value in any of them', async () => {
    const state: LossScaleState = { scale: g.scalar(2 ** 5), goodSteps: g.scalar(0), flags: g.zeros([2]) };
    const values = LENGTHS.map((n, k) => [...randomValues(n, 900 + k, -1000, 1000)].map(Math.fround));
    const grads = values.map((v) => g.tensor(v, [v.length]));
    unscaleGradients(grads, state);
    expect(await bits(state.flags)).toEqual([0, 0]);
    for (const [k, t] of grads.entries()) expect([...(await t.data())], `gradient ${k}`).toEqual(values[k]!.map((x) => x / 2 ** 5));
    for (const t of grads) t.dispose();
    // NOTE: by sorted position, so that each of the six bindings of both groups and the single one is hit once.
    for (const [pos, len] of SORTED.entries()) {
      const k = LENGTHS.indexOf(len);
      const bad = LENGTHS.map((n, j) => g.tensor(Array.from({ length: n }, (_, i) => (j === k && i === n - 1 ? (pos % 2 ? NaN : -Infinity) : 1)), [n]));
      unscaleGradients(bad, state);
      expect((await bits(state.flags))[0], `non-finite in sorted position ${pos}`).toBe(1);
      state.flags.device.write(state.flags.buffer, new Uint32Array(2));
      for (const t of bad) t.dispose();
    }
    for (const t of [state.scale, state.goodSteps, state.flags]) t.dispose();
  });
});

describe('the cost of a loss-scaled step', () => {
  it('a wrapped Adam step on N parameters runs the inner step, N / 6 unscales and one decide: no copy, no restore', () => {
    const N = 13;
    const device = getDevice();
    const shapes = Array.from({ length: N }, (_, k) => [5 + 2 * k]);
    const make = (seed: number) => shapes.map((s, k) => g.tensor(randomValues(s[0]!, seed + k), s));
    /** The kernels and buffer copies of the second step (the first creates the slots). */
    const count = (opt: { applyGradients(p: GradientPair[]): void }) => {
      const params = make(700);
      const grads = make(800);
      const pairs = params.map((param, k) => ({ param, grad: grads[k]!, name: `w${k}` }));
      opt.applyGradients(pairs);
      const copy = vi.spyOn(device, 'copy');
      const watch = watchKernels(device);
      try {
        opt.applyGradients(pairs);
      } finally {
        watch.stop();
      }
      const copies = copy.mock.calls.length;
      copy.mockRestore();
      for (const t of [...params, ...grads]) t.dispose();
      return { names: watch.names, copies };
    };
    const plain = adam();
    const wrapped = new LossScaleOptimizer(adam(), { initialScale: 1 });
    const inner = count(plain);
    const outer = count(wrapped);
    expect(inner.names).toHaveLength(N);
    expect(outer.copies).toBe(0);
    expect(outer.names.filter((n) => n.startsWith('loss_scale_restore'))).toEqual([]);
    expect(outer.names.filter((n) => n === 'loss_scale_unscale6')).toHaveLength(2);
    expect(outer.names.filter((n) => n === 'loss_scale_unscale')).toHaveLength(1);
    expect(outer.names.filter((n) => n === 'loss_scale_decide')).toHaveLength(1);
    // NOTE: the copy-restore design ran inner + N unscales + 1 + N restores (and 3N buffer copies) here.
    expect(outer.names.length).toBeLessThanOrEqual(inner.names.length + 4);
    plain.dispose();
    wrapped.dispose();
  });
});
