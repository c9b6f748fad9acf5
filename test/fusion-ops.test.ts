// The inference-fusion kernels against the float64 oracle: the squeeze-excite gate (shaders/se_gate.wgsl), and
// matmul's A-scale prologue and output-scale and residual epilogues in every matmul variant, forced in turn.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { capsOf, unsupportedReason, withVariant } from '../src/gpu/variants.js';
import { MATMUL_VARIANTS, type MatmulActivationName } from '../src/ops/matmul.js';
import { excitedPointwise, seGate } from '../src/ops/squeeze-excite.js';
import { matmulRef } from '../src/reference/matmul.js';
import { globalAvgPoolRef } from '../src/reference/pool.js';
import { ref, type RefTensor } from '../src/reference/index.js';
import { expectTensor, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

/** Rows of a [M, K] scaled per group of M/G rows by scale [G, K], in float64. */
function scaleRows(a: RefTensor, s: RefTensor): RefTensor {
  const [m, k] = a.shape as [number, number];
  const rows = m / s.shape[0]!;
  return { shape: [m, k], data: a.data.map((v, i) => v * s.data[Math.floor(Math.floor(i / k) / rows) * k + (i % k)]!) };
}

const abs = (r: RefTensor): RefTensor => ({ shape: r.shape, data: r.data.map(Math.abs) });

let seed = 900;

interface ScaleCase {
  m: number;
  k: number;
  n: number;
  groups: number;
  act: MatmulActivationName;
  /** With an output-scale epilogue and a residual too. */
  outScale: boolean;
}

// NOTE: aligned (vec4 loads), odd (scalar gathers, K tails) and long-K (several tiled steps, subgroup strides) shapes.
const CASES: ScaleCase[] = [
  { m: 18, k: 20, n: 12, groups: 2, act: 'linear', outScale: true },
  { m: 15, k: 7, n: 5, groups: 3, act: 'silu', outScale: false },
  { m: 8, k: 72, n: 36, groups: 4, act: 'relu6', outScale: true },
];

/** b [K, N] with column j multiplied by s[j]: (a · b) * s = a · (b * s) in float64. */
function scaleCols(b: RefTensor, s: Float64Array): RefTensor {
  const n = b.shape[1]!;
  return { shape: b.shape, data: b.data.map((v, i) => v * s[i % n]!) };
}

describe('matmul A-scale prologue, output-scale and residual epilogues', () => {
  for (const variant of MATMUL_VARIANTS) {
    it(`matches the oracle with variant '${variant}' forced`, async () => {
      const needs = variant === 'subgroup' ? ['subgroups' as const] : variant === 'f16' ? ['shader-f16' as const] : [];
      if (unsupportedReason(capsOf(device()), { features: needs }) !== null) return;
      for (const c of CASES) {
        const va = randomValues(c.m * c.k, seed++, -2, 2);
        const vb = randomValues(c.k * c.n, seed++, -2, 2);
        const vs = randomValues(c.groups * c.k, seed++, 0, 1);
        const vbias = randomValues(c.n, seed++);
        const vo = c.outScale ? randomValues(c.n, seed++, 0.5, 2) : new Float64Array(c.n).fill(1);
        const ra = scaleRows(ref(va, [c.m, c.k]), ref(vs, [c.groups, c.k]));
        const rb = scaleCols(ref(vb, [c.k, c.n]), vo);
        const vr = c.outScale ? randomValues(c.m * c.n, seed++) : new Float64Array(c.m * c.n);
        const z = matmulRef(ra, rb, { bias: ref(vbias, [c.n]), activation: c.act });
        const want = { shape: z.shape, data: z.data.map((v, i) => v + vr[i]!) };
        const [a, b, s, bias] = [g.tensor(va, [c.m, c.k]), g.tensor(vb, [c.k, c.n]), g.tensor(vs, [c.groups, c.k]), g.tensor(vbias, [c.n])];
        const outScale = c.outScale ? g.tensor(vo, [c.n]) : undefined;
        const residual = c.outScale ? g.tensor(vr, [c.m, c.n]) : undefined;
        const got = await withVariant('matmul', variant, () => g.matmul(a, b, { aScale: s, bias, activation: c.act, ...(outScale ? { outScale, residual } : {}) }));
        const label = `${variant} ${c.m}x${c.k}x${c.n}/${c.groups}`;
        if (variant !== 'f16') {
          await expectTensor(got, want, { atol: 2e-5, rtol: 1e-4 }, label);
        } else {
          // NOTE: f16 tiles round each scaled A and each B to f16 (2^-10 relative each): the bound of matmul-variants.
          // NOTE: the residual is added in f32 after the product (no extra rounding term).
          const mag = matmulRef(abs(ra), abs(rb));
          const data = await got.data();
          for (let i = 0; i < data.length; i++) {
            const bound = 1.1 * 2 ** -9 * mag.data[i]! + 2e-5 + 1e-4 * Math.abs(want.data[i]!);
            if (!(Math.abs(data[i]! - want.data[i]!) <= bound)) throw new Error(`${label} mismatch at ${i}: got ${data[i]}, want ${want.data[i]}`);
          }
        }
        for (const t of [a, b, s, bias, got, outScale, residual]) t?.dispose();
      }
    });
  }

  it('refuses a transposed or mis-shaped a, and recording a gradient', () => {
    const a = g.zeros([6, 4]);
    const b = g.zeros([4, 3]);
    expect(() => g.matmul(a, b, { aScale: g.zeros([4, 4]) })).toThrow('aScale [4,4]');
    expect(() => g.matmul(a, b, { aScale: g.zeros([2, 3]) })).toThrow('aScale');
    expect(() => g.matmul(g.zeros([4, 6]), b, { aScale: g.zeros([2, 4]), transposeA: true })).toThrow('untransposed');
    const w = g.zeros([4, 3]);
    w.requiresGrad = true;
    expect(() => g.matmul(a, w, { aScale: g.zeros([2, 4]) })).toThrow('inference-only');
    expect(() => g.matmul(a, w, { outScale: g.zeros([3]) })).toThrow('inference-only');
    expect(() => g.matmul(a, b, { outScale: g.zeros([4]) })).toThrow('outScale [4] must have shape [3]');
    expect(() => g.matmul(a, b, { residual: g.zeros([3, 6]) })).toThrow("residual [3,6] must have the output's shape [6,3]");
  });
});

describe('seGate', () => {
  const cases: { n: number; h: number; w: number; c: number; r: number; bias: boolean }[] = [
    { n: 2, h: 3, w: 5, c: 24, r: 6, bias: true },
    // NOTE: more channels than one pooling pass (CW = 64) and a hidden size that is not a multiple of 4.
    { n: 1, h: 4, w: 4, c: 100, r: 7, bias: false },
    { n: 3, h: 1, w: 1, c: 8, r: 2, bias: true },
    // NOTE: H*W > 256: the pool runs first over chunks of 256 rows (a partial last chunk), then the gate.
    { n: 2, h: 17, w: 19, c: 70, r: 5, bias: true },
  ];
  for (const c of cases) {
    it(`matches pool -> 1x1 silu -> 1x1 sigmoid in float64 (${c.n}x${c.h}x${c.w}x${c.c}, R ${c.r})`, async () => {
      const vx = randomValues(c.n * c.h * c.w * c.c, seed++, -2, 2);
      const vr = randomValues(c.c * c.r, seed++);
      const ve = randomValues(c.r * c.c, seed++);
      const vbr = randomValues(c.r, seed++);
      const vbe = randomValues(c.c, seed++);
      const pooled = globalAvgPoolRef(ref(vx, [c.n, c.h, c.w, c.c]));
      const hidden = matmulRef(pooled, ref(vr, [c.c, c.r]), { activation: 'silu', ...(c.bias ? { bias: ref(vbr, [c.r]) } : {}) });
      const want = matmulRef(hidden, ref(ve, [c.r, c.c]), { activation: 'sigmoid', ...(c.bias ? { bias: ref(vbe, [c.c]) } : {}) });
      const x = g.tensor(vx, [c.n, c.h, c.w, c.c]);
      const [wr, we] = [g.tensor(vr, [1, 1, c.c, c.r]), g.tensor(ve, [1, 1, c.r, c.c])];
      const [br, be] = [g.tensor(vbr, [c.r]), g.tensor(vbe, [c.c])];
      const gate = seGate(x, wr, we, c.bias ? { reduceBias: br, expandBias: be } : {});
      await expectTensor(gate, want, { atol: 1e-5, rtol: 1e-4 }, 'seGate');
      for (const t of [x, wr, we, br, be, gate]) t.dispose();
    });
  }

  it('excitedPointwise equals the multiply followed by the 1x1 conv', async () => {
    const [n, h, w, c, co] = [2, 3, 3, 8, 5];
    const vx = randomValues(n * h * w * c, seed++, -2, 2);
    const vg = randomValues(n * c, seed++, 0, 1);
    const vf = randomValues(c * co, seed++);
    const vb = randomValues(co, seed++);
    const rows = scaleRows(ref(vx, [n * h * w, c]), ref(vg, [n, c]));
    const want = matmulRef(rows, ref(vf, [c, co]), { bias: ref(vb, [co]), activation: 'silu' });
    const x = g.tensor(vx, [n, h, w, c]);
    const gate = g.tensor(vg, [n, c]);
    const [f, b] = [g.tensor(vf, [1, 1, c, co]), g.tensor(vb, [co])];
    const y = excitedPointwise(x, gate, f, { bias: b, activation: 'silu' });
    expect([...y.shape]).toEqual([n, h, w, co]);
    await expectTensor(y, { shape: [n, h, w, co], data: want.data }, { atol: 2e-5, rtol: 1e-4 }, 'excitedPointwise');
    for (const t of [x, gate, f, b, y]) t.dispose();
  });

  it('names the shapes when they do not chain', () => {
    expect(() => seGate(g.zeros([1, 2, 2, 8]), g.zeros([8, 3]), g.zeros([4, 8]))).toThrow('do not chain');
  });
});
