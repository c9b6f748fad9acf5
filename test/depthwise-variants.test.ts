// Every depthwise variant, forced in turn, through the oracle cases and gradient checks of
// test/depthwise-conv2d.test.ts (plus vec4 cases for 'valid' and explicit pads and a partial channel block), and the
// fallbacks to the register kernels: which kernel each variant picks, and bitwise-equal results where it falls back.

import { describe, expect, it } from 'vitest';
import { configureTuner, resetTuner, tunerIdle, tunerRecords } from '../src/gpu/tuner.js';
import * as g from '../src/index.js';
import { capsOf, forceVariant, unsupportedReason, withComputePrecision, withVariant } from '../src/gpu/variants.js';
import { convGeometry } from '../src/ops/conv-geometry.js';
import { DEPTHWISE_VARIANTS, depthwiseBucket, depthwiseKernelKind, depthwiseVariant, type DepthwiseVariant } from '../src/ops/depthwise-conv2d.js';
import { depthwiseTile } from '../src/ops/depthwise-kernels.js';
import { depthwiseConv2dRef, ref, type RefTensor } from '../src/reference/index.js';
import { cases, gpuOpts, label, outChannels, realistic, refOpts, size, tiny, type Case } from './helpers/depthwise-cases.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

const abs = (r: RefTensor): RefTensor => ({ shape: r.shape, data: r.data.map(Math.abs) });

/** The shared cases plus vec4 ones with 'valid' and explicit pads, stride 2 in one axis, and 18 channel groups. */
const variantCases: Case[] = [
  ...cases,
  { x: [2, 9, 9, 8], f: [5, 5, 8, 1], strides: 2, padding: 'valid', bias: true, activation: 'relu' },
  { x: [1, 9, 8, 8], f: [3, 3, 8, 1], strides: [2, 1], padding: [1, 2, 0, 1], bias: true },
  { x: [1, 6, 6, 72], f: [3, 3, 72, 1], padding: 'same', bias: true, activation: 'relu6' },
];

const variants = DEPTHWISE_VARIANTS.filter((v) => v !== 'register');

const featureOf = (v: DepthwiseVariant) => (v === 'subgroup' ? ['subgroups'] : v === 'f16' ? ['shader-f16'] : []);
const runnable = (v: DepthwiseVariant) => unsupportedReason(capsOf(device()), { features: featureOf(v) }) === null;

function inputs(c: Case, k: number) {
  return { xv: randomValues(size(c.x), 900 + k), fv: randomValues(size(c.f), 950 + k), bv: randomValues(outChannels(c), 990 + k) };
}

async function forward(variant: DepthwiseVariant, c: Case, k: number): Promise<Float32Array> {
  const { xv, fv, bv } = inputs(c, k);
  const ts = [g.tensor(xv, c.x), g.tensor(fv, c.f), ...(c.bias ? [g.tensor(bv, [outChannels(c)])] : [])];
  const y = await withVariant('depthwise', variant, () => g.depthwiseConv2d(ts[0]!, ts[1]!, gpuOpts(c, ts[2])));
  const data = (await y.data()) as Float32Array;
  for (const t of [...ts, y]) t.dispose();
  return data;
}

/**
 * f32 variants: the forward tolerance of test/depthwise-conv2d.test.ts. f16 tiles round x to f16 (relative error
 * <= 2^-11, taken as 2^-10), so |got - want| <= 2^-10 * sum |x||w| + the f32 bound, times the activation's
 * Lipschitz constant (<= 1.1, silu).
 */
async function checkForward(variant: DepthwiseVariant, c: Case, k: number): Promise<void> {
  const { xv, fv, bv } = inputs(c, k);
  const want = depthwiseConv2dRef(ref(xv, c.x), ref(fv, c.f), refOpts(c, c.bias ? ref(bv, [outChannels(c)]) : undefined));
  const got = await forward(variant, c, k);
  if (variant !== 'f16') {
    const t = g.tensor(got, want.shape);
    await expectTensor(t, want, { atol: 1e-5, rtol: 1e-4 }, `${variant} ${label(c)}`);
    t.dispose();
    return;
  }
  const mag = depthwiseConv2dRef(abs(ref(xv, c.x)), abs(ref(fv, c.f)), { ...refOpts(c), activation: 'linear' });
  expect(got.length).toBe(want.data.length);
  for (let i = 0; i < got.length; i++) {
    const bound = 1.1 * 2 ** -10 * mag.data[i]! + 1e-5 + 1e-4 * Math.abs(want.data[i]!);
    if (!(Math.abs(got[i]! - want.data[i]!) <= bound)) throw new Error(`f16 ${label(c)} mismatch at ${i}: got ${got[i]}, want ${want.data[i]} (bound ${bound})`);
  }
}

const geoOf = (c: Case) => convGeometry('depthwiseConv2d', c.x, c.f, { strides: c.strides, padding: c.padding, dilations: c.dilations });
const isScalar = (c: Case) => c.f[3] !== 1 || c.f[2] % 4 !== 0;

for (const variant of variants) {
  describe(`depthwise variant '${variant}'`, () => {
    it('is refused with the missing feature named on an adapter without it', () => {
      if (runnable(variant)) return;
      const restore = forceVariant('depthwise', variant);
      try {
        expect(() => g.depthwiseConv2d(g.zeros([1, 4, 4, 4]), g.zeros([3, 3, 4, 1]))).toThrow(
          `Graft depthwiseConv2d: variant '${variant}' cannot run on this adapter: the adapter lacks the '${featureOf(variant)[0]}' feature`,
        );
      } finally {
        restore();
      }
    });

    // NOTE: one test per case: a cold pipeline cache compiles each specialization for seconds on lavapipe.
    for (const [k, c] of variantCases.entries()) {
      const what = isScalar(c) ? 'falls back to register bit for bit' : variant === 'f16' ? 'rounds x to f16' : 'runs its kernel';
      it(`matches the oracle and ${what}: ${label(c)}`, async () => {
        if (!runnable(variant)) return;
        await checkForward(variant, c, k);
        const [got, reg] = [await forward(variant, c, k), await forward('register', c, k)];
        if (isScalar(c)) expect(got, 'fallback').toEqual(reg);
        // NOTE: f16 tiles round x, so vec4 results differ from the float32 kernel's (the f16 kernel ran).
        else if (variant === 'f16') expect(got.some((v, i) => v !== reg[i])).toBe(true);
      });
    }

    const silu: Case = { x: [1, 5, 5, 4], f: [3, 3, 4, 1], strides: 2, padding: 'same', bias: true, activation: 'silu' };
    for (const c of [...tiny, silu, { x: [1, 6, 5, 8], f: [3, 3, 8, 1], strides: 2, padding: 'valid', bias: true } as Case]) {
      it(`gives input, filter and bias gradients that match central differences (full Jacobian): ${label(c)}`, async () => {
        if (!runnable(variant)) return;
        // NOTE: f16 tiles round x (forward) and dy (input gradient) to 11 bits: a stated 2e-2 bound instead of 2e-3.
        const tol = variant === 'f16' ? { atol: 2e-2, rtol: 2e-2 } : undefined;
        await withVariant('depthwise', variant, () =>
          gradCheck({
            shapes: [c.x, c.f, ...(c.bias ? [[outChannels(c)]] : [])],
            mode: 'full',
            tol,
            gpu: ([x, f, b]) => g.depthwiseConv2d(x!, f!, gpuOpts(c, b)),
            ref: ([x, f, b]) => depthwiseConv2dRef(x!, f!, refOpts(c, b)),
          }),
        );
      });
    }

    for (const c of [...realistic, { x: [2, 9, 9, 8], f: [5, 5, 8, 1], strides: 2, padding: [2, 1, 1, 2], bias: true } as Case]) {
      it(`gives gradients that match central differences along random directions: ${label(c)}`, async () => {
        if (!runnable(variant)) return;
        const tol = variant === 'f16' ? { atol: 2e-3, rtol: 2e-2 } : undefined;
        await withVariant('depthwise', variant, () =>
          gradCheck({
            shapes: [c.x, c.f, ...(c.bias ? [[outChannels(c)]] : [])],
            mode: 'directional',
            tol,
            gpu: ([x, f, b]) => g.depthwiseConv2d(x!, f!, gpuOpts(c, b)),
            ref: ([x, f, b]) => depthwiseConv2dRef(x!, f!, refOpts(c, b)),
          }),
        );
      });
    }
  });
}

describe('depthwise variant selection', () => {
  it('picks each variant’s kernel per stage and falls back to register where the variant has none', () => {
    const vec = geoOf({ x: [1, 8, 8, 8], f: [3, 3, 8, 1], padding: 'same' });
    const scalar = geoOf({ x: [1, 8, 8, 6], f: [3, 3, 6, 1], padding: 'same' });
    const seven = geoOf({ x: [1, 8, 8, 8], f: [7, 7, 8, 1], padding: 'same' });
    const kinds = (v: DepthwiseVariant, geo = vec, mult = 1) =>
      (['forward', 'backward_input', 'backward_filter'] as const).map((s) => depthwiseKernelKind(v, s, geo, mult));
    expect(kinds('register')).toEqual(['register', 'register', 'register']);
    expect(kinds('tiled')).toEqual(['tiled', 'tiled', 'tiled']);
    expect(kinds('subgroup')).toEqual(['register', 'register', 'subgroup']);
    expect(kinds('f16')).toEqual(['tiled_f16', 'tiled_f16', 'tiled']);
    for (const v of DEPTHWISE_VARIANTS) {
      expect(kinds(v, scalar)).toEqual(['register', 'register', 'register']);
      expect(kinds(v, vec, 2)).toEqual(['register', 'register', 'register']);
      expect(kinds(v, seven)[2]).toBe(v === 'tiled' || v === 'f16' ? 'tiled' : 'register');
    }
  });

  it('runs the forced variant, restores the previous choice, and rejects unknown names', () => {
    const geo = geoOf({ x: [1, 8, 8, 8], f: [3, 3, 8, 1], padding: 'same' });
    expect(depthwiseVariant(device(), 'forward', geo, 1)).toBe('register');
    const restore = forceVariant('depthwise', 'tiled');
    try {
      expect(depthwiseVariant(device(), 'backward_filter', geo, 1)).toBe('tiled');
      const inner = forceVariant('depthwise', 'nope');
      try {
        expect(() => g.depthwiseConv2d(g.zeros([1, 4, 4, 4]), g.zeros([3, 3, 4, 1]))).toThrow(
          "Graft depthwise: unknown variant 'nope' (known: register, tiled, subgroup, f16)",
        );
      } finally {
        inner();
      }
      expect(depthwiseVariant(device(), 'forward', geo, 1)).toBe('tiled');
    } finally {
      restore();
    }
    expect(depthwiseVariant(device(), 'forward', geo, 1)).toBe('register');
  });

  it('runs f16 under float16 compute precision where the adapter has shader-f16', () => {
    const geo = geoOf({ x: [1, 8, 8, 8], f: [3, 3, 8, 1], padding: 'same' });
    const want = runnable('f16') ? 'f16' : 'register';
    expect(withComputePrecision('float16', () => depthwiseVariant(device(), 'forward', geo, 1))).toBe(want);
  });

  it('shrinks the tile to the workgroup memory and invocation limits', () => {
    const geo = geoOf({ x: [1, 28, 28, 240], f: [5, 5, 240, 1], strides: 2, padding: 'same' });
    const big = depthwiseTile('forward', geo, 16, 1 << 20, 1024);
    expect(big).toEqual({ cg: 16, ph: 4, pw: 4, th: 11, tw: 11 });
    for (const [bytes, inv] of [[16384, 256], [8192, 256], [4096, 64], [2048, 32]] as const) {
      for (const stage of ['forward', 'backward_input'] as const) {
        const t = depthwiseTile(stage, geo, 16, bytes, inv);
        expect(t.th * t.tw * t.cg * 16, `${stage} ${bytes}`).toBeLessThanOrEqual(bytes);
        expect(t.cg * t.ph * t.pw).toBeLessThanOrEqual(inv);
      }
    }
  });

  it('tunes per stage and bucket: every float32 candidate passes its probe against register, f16 is never a candidate', async () => {
    const c: Case = { x: [1, 7, 7, 8], f: [3, 3, 8, 1], padding: 'same' };
    const geo = geoOf(c);
    const store = { data: {} as Record<string, string>, load: async () => ({}), save: async (d: Record<string, string>) => void (store.data = d) };
    configureTuner({ mode: 'on', store, budgetMs: 5 });
    try {
      const x = g.randomUniform(c.x, -1, 1, { seed: 3, requiresGrad: true });
      const f = g.randomUniform(c.f, -1, 1, { seed: 4, requiresGrad: true });
      const y = g.depthwiseConv2d(x, f, gpuOpts(c));
      const seed = g.ones([...y.shape]);
      y.backward(seed);
      await tunerIdle();
      for (const stage of ['forward', 'backward_input', 'backward_filter'] as const) {
        const rec = tunerRecords().find((r) => r.key.endsWith(`|depthwise|${depthwiseBucket(stage, geo, 1)}`));
        expect(rec, stage).toBeDefined();
        const want = runnable('subgroup') ? ['register', 'tiled', 'subgroup'] : ['register', 'tiled'];
        expect(Object.keys(rec!.ms).sort(), stage).toEqual(want.sort());
        for (const v of want) expect(rec!.ms[v], `${stage} ${v}`).toBeGreaterThan(0);
        expect(store.data[rec!.key]).toBe(rec!.chosen);
        expect(depthwiseVariant(device(), stage, geo, 1)).toBe(rec!.chosen);
      }
      expect(depthwiseBucket('forward', geo, 1)).toBe('forward:k3x3s1x1d1x1vc3p6');
      for (const t of [x, f, y, seed]) t.dispose();
    } finally {
      configureTuner({ mode: 'off', store: null });
      resetTuner();
    }
  });
});
