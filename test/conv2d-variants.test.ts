// Every conv2d variant, forced in turn, through the oracle comparisons of test/conv2d.test.ts (its shared cases plus
// tile-crossing ones) and gradient checks of input, filter and bias (k 3 and 5, strides 1 and 2, odd sizes, pads).
// 'register' (the default) is the variant test/conv2d.test.ts runs; 1x1 stride-1 convolutions run as matmuls.

import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { configureTuner, resetTuner, tunerIdle, tunerRecords } from '../src/gpu/tuner.js';
import { capsOf, forceVariant, unsupportedReason, withComputePrecision, withVariant } from '../src/gpu/variants.js';
import { CONV2D_VARIANTS, conv2dVariant, type Conv2DVariant } from '../src/ops/conv2d.js';
import { conv2dRef, ref, type RefTensor } from '../src/reference/index.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { cases, gpuOpts, label, refOpts, size, type Case } from './helpers/conv2d-cases.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

const abs = (r: RefTensor): RefTensor => ({ shape: r.shape, data: r.data.map(Math.abs) });

// NOTE: beyond the shared cases: M and N across the 64- and 128-row, 16/32/64-column tiles and K across TK = 16,
// vec4-aligned and odd channel counts, the stem's 3x3 stride 2 on 3 channels, and 5x5 kernels at both strides.
const tileCases: Case[] = [
  { x: [2, 13, 11, 8], f: [3, 3, 8, 40], padding: 'same', bias: true, activation: 'relu' },
  { x: [1, 17, 15, 3], f: [3, 3, 3, 32], strides: 2, padding: 'same', bias: true, activation: 'silu' },
  { x: [1, 12, 9, 5], f: [5, 5, 5, 70], strides: 2, padding: 'same' },
  { x: [2, 9, 10, 12], f: [5, 5, 12, 20], padding: [2, 1, 0, 2], bias: true },
];

// NOTE: 1x1 stride-1 convolutions run as matmuls, whose variants test/matmul-variants.test.ts covers.
const sharedCases = cases.filter((c) => !(c.f[0] === 1 && c.f[1] === 1 && (c.strides ?? 1) === 1));

let seed = 900;
/**
 * f32 variants: the forward tolerance of test/conv2d.test.ts. f16 tiles round x and w to f16 (relative error
 * <= 2^-11 each, so <= 2^-10 per product; 2^-9 leaves a factor 2), so |got - want| <= 2^-9 * sum |x||w| + the f32
 * bound, times the activation's Lipschitz constant (<= 1.1, silu); the bias is added in f32.
 */
async function check(variant: Conv2DVariant, c: Case): Promise<void> {
  const xv = randomValues(size(c.x), seed++);
  const fv = randomValues(size(c.f), seed++);
  const bv = randomValues(c.f[3], seed++);
  const [rx, rf] = [ref(xv, c.x), ref(fv, c.f)];
  const want = conv2dRef(rx, rf, refOpts(c, c.bias ? ref(bv, [c.f[3]]) : undefined));
  const [x, f] = [g.tensor(xv, c.x), g.tensor(fv, c.f)];
  const bias = c.bias ? g.tensor(bv, [c.f[3]]) : undefined;
  const got = await withVariant('conv2d', variant, () => g.conv2d(x, f, gpuOpts(c, bias)));
  if (variant !== 'f16') {
    await expectTensor(got, want, { atol: 1e-5, rtol: 1e-4 }, `${variant} ${label(c)}`);
  } else {
    const mag = conv2dRef(abs(rx), abs(rf), { strides: c.strides, padding: c.padding, dilations: c.dilations });
    const data = await got.data();
    expect([...got.shape]).toEqual(want.shape);
    for (let i = 0; i < data.length; i++) {
      const bound = 1.1 * 2 ** -9 * mag.data[i]! + 1e-5 + 1e-4 * Math.abs(want.data[i]!);
      if (!(Math.abs(data[i]! - want.data[i]!) <= bound)) {
        throw new Error(`f16 ${label(c)} mismatch at ${i}: got ${data[i]}, want ${want.data[i]} (bound ${bound})`);
      }
    }
  }
  for (const t of [x, f, bias, got]) t?.dispose();
}

const gradCases: Case[] = [
  { x: [1, 5, 5, 3], f: [3, 3, 3, 4], padding: 'same', bias: true },
  { x: [2, 5, 4, 2], f: [3, 3, 2, 5], strides: 2, padding: 'same', bias: true },
  { x: [1, 7, 6, 2], f: [5, 5, 2, 3], strides: 2, padding: [2, 1, 2, 2] },
  { x: [1, 6, 5, 4], f: [5, 5, 4, 4], padding: 'same', bias: true },
];

const realistic: Case[] = [
  { x: [2, 14, 14, 24], f: [3, 3, 24, 40], strides: 2, padding: 'same', bias: true },
  { x: [2, 9, 9, 16], f: [3, 3, 16, 16], padding: 'same', bias: true, activation: 'relu6' },
  { x: [1, 11, 13, 3], f: [5, 5, 3, 36], strides: 2, padding: 'same', bias: true },
];

// NOTE: each variant compiles several pipelines (stages x tile shapes), which takes lavapipe tens of seconds on a
// loaded machine with a cold shader cache: the variant tests get more than the suite's 120 s.
const COMPILE_TIMEOUT = 360_000;

const featureOf = (v: Conv2DVariant) => (v === 'subgroup' ? ['subgroups'] : v === 'f16' ? ['shader-f16'] : []);

for (const variant of CONV2D_VARIANTS.filter((v) => v !== 'register')) {
  describe(`conv2d variant '${variant}'`, () => {
    const runnable = () => unsupportedReason(capsOf(device()), { features: featureOf(variant) }) === null;

    it('matches the oracle on the shared cases of test/conv2d.test.ts', async () => {
      if (!runnable()) {
        // NOTE: an adapter without the feature must refuse the forced variant with a message naming it.
        const restore = forceVariant('conv2d', variant);
        try {
          expect(() => g.conv2d(g.zeros([1, 5, 5, 4]), g.zeros([3, 3, 4, 4]))).toThrow(
            `Graft conv2d: variant '${variant}' cannot run on this adapter: the adapter lacks the '${featureOf(variant)[0]}' feature`,
          );
        } finally {
          restore();
        }
        return;
      }
      for (const c of sharedCases) await check(variant, c);
    }, COMPILE_TIMEOUT);

    it('matches the oracle on tile-crossing sizes, the stem and 5x5 kernels', async () => {
      if (!runnable()) return;
      for (const c of tileCases) await check(variant, c);
    }, COMPILE_TIMEOUT);

    // NOTE: f16 tiles round each operand to 11 bits: its gradients get a stated 2e-2 bound instead of 2e-3.
    const tol = variant === 'f16' ? { atol: 2e-2, rtol: 2e-2 } : undefined;
    const dtol = variant === 'f16' ? { atol: 2e-3, rtol: 2e-2 } : undefined;

    it('gives input, filter and bias gradients that match central differences (full Jacobian, tiny shapes)', async () => {
      if (!runnable()) return;
      await withVariant('conv2d', variant, async () => {
        for (const c of gradCases) {
          await gradCheck({
            shapes: [c.x, c.f, ...(c.bias ? [[c.f[3]]] : [])],
            mode: 'full',
            tol,
            gpu: ([x, f, b]) => g.conv2d(x!, f!, gpuOpts(c, b)),
            ref: ([x, f, b]) => conv2dRef(x!, f!, refOpts(c, b)),
          });
        }
      });
    }, COMPILE_TIMEOUT);

    it('gives gradients that match central differences along directions (tile-crossing shapes)', async () => {
      if (!runnable()) return;
      await withVariant('conv2d', variant, async () => {
        for (const c of realistic) {
          await gradCheck({
            shapes: [c.x, c.f, ...(c.bias ? [[c.f[3]]] : [])],
            mode: 'directional',
            tol: dtol,
            gpu: ([x, f, b]) => g.conv2d(x!, f!, gpuOpts(c, b)),
            ref: ([x, f, b]) => conv2dRef(x!, f!, refOpts(c, b)),
          });
        }
      });
    }, COMPILE_TIMEOUT);
  });
}

describe('conv2d variant selection', () => {
  afterEach(() => {
    configureTuner({ mode: 'off', store: null });
    resetTuner();
  });

  it('runs the forced variant, restores the previous choice, and rejects unknown names', () => {
    const x = g.zeros([1, 5, 5, 4]);
    const f = g.zeros([3, 3, 4, 4]);
    expect(conv2dVariant(x, f)).toBe('register');
    const restore = forceVariant('conv2d', 'tiled');
    expect(conv2dVariant(x, f, {}, 'filter')).toBe('tiled');
    const inner = forceVariant('conv2d', 'nope');
    expect(() => g.conv2d(x, f)).toThrow("Graft conv2d: unknown variant 'nope' (known: register, tiled, subgroup, f16)");
    inner();
    expect(conv2dVariant(x, f)).toBe('tiled');
    restore();
    expect(conv2dVariant(x, f)).toBe('register');
  });

  it("runs 'f16' under a float16 compute precision, where the adapter has shader-f16", () => {
    const x = g.zeros([1, 5, 5, 4]);
    const f = g.zeros([3, 3, 4, 4]);
    const hasF16 = capsOf(device()).features.has('shader-f16');
    expect(withComputePrecision('float16', () => conv2dVariant(x, f))).toBe(hasF16 ? 'f16' : 'register');
  });

  it('tunes each stage per bucket with probes that pass, and the tuned result matches the oracle', async () => {
    configureTuner({ mode: 'on', store: null, budgetMs: 5 });
    const c: Case = { x: [1, 9, 8, 4], f: [3, 3, 4, 8], strides: 2, padding: 'same' };
    const xv = randomValues(size(c.x), 31);
    const fv = randomValues(size(c.f), 32);
    const x = g.tensor(xv, c.x, { requiresGrad: true });
    const f = g.tensor(fv, c.f, { requiresGrad: true });
    g.sum(g.conv2d(x, f, gpuOpts(c))).backward();
    await tunerIdle();
    const recs = tunerRecords().filter((r) => r.key.includes('|conv2d|'));
    expect(recs.map((r) => r.key.split('|')[2]!.split(':')[0]).sort()).toEqual(['filter', 'forward', 'input']);
    for (const r of recs) {
      expect(r.error).toBeUndefined();
      // NOTE: NaN marks a candidate that failed its probe (disagreed with 'register').
      for (const [v, ms] of Object.entries(r.ms)) expect(Number.isNaN(ms), `${r.key} ${v}`).toBe(false);
      expect(Object.keys(r.ms)).toContain(r.chosen);
    }
    expect(Object.keys(recs.find((r) => r.key.includes('|filter:'))!.ms)).toContain('subgroup');
    const y = g.conv2d(g.tensor(xv, c.x), g.tensor(fv, c.f), gpuOpts(c));
    await expectTensor(y, conv2dRef(ref(xv, c.x), ref(fv, c.f), refOpts(c)), { atol: 1e-5, rtol: 1e-4 });
  });
});
