// Every kernel variant's correctness probe on this adapter: each registered family's variants forced in turn against
// the float64 reference (src/reference/) on shapes that cross tile edges, transposes, batches, bias and activations.
// A variant the adapter cannot run is listed with the reason; a wrong result fails the suite (non-zero exit).

import * as g from '../src/index.js';
import { forceVariant, variantFamilies } from '../src/gpu/variants.js';
import { ref, type RefTensor } from '../src/reference/index.js';
import { matmulRef } from '../src/reference/matmul.js';
import { probeDepthwise } from './depthwise-probe.js';
import type { BenchContext, BenchRow, Suite } from './harness.js';
import { probeConv2d } from './variants-conv2d.js';
import { probeBatchnorm, probeOptimizer, probePool } from './variants-norm.js';

interface MatmulCase {
  m: number;
  k: number;
  n: number;
  ta: boolean;
  tb: boolean;
  batch: number[];
  act: g.MatmulActivationName;
}

function matmulCases(quick: boolean): MatmulCase[] {
  const sizes: [number, number, number][] = quick ? [[7, 13, 5], [67, 37, 66]] : [[7, 13, 5], [67, 37, 66], [128, 256, 96], [257, 129, 300]];
  const out: MatmulCase[] = [];
  for (const [m, k, n] of sizes) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) out.push({ m, k, n, ta, tb, batch: [], act: 'relu' });
  }
  out.push({ m: 12, k: 8, n: 16, ta: false, tb: true, batch: [2, 3], act: 'silu' });
  return out;
}

/** Largest |got - want| over the bound 1e-5 + rel * sum_k |a b| (rel: 2e-6 for f32, 2^-9 for f16 tiles). */
function worstExcess(got: ArrayLike<number>, want: RefTensor, mag: RefTensor, rel: number): number {
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want.data[i]!) - (1e-5 + rel * mag.data[i]!));
  return worst;
}

async function probeMatmul(variant: string, quick: boolean): Promise<string> {
  let seed = 1;
  for (const c of matmulCases(quick)) {
    const sa = [...c.batch, ...(c.ta ? [c.k, c.m] : [c.m, c.k])];
    const sb = [...c.batch, ...(c.tb ? [c.n, c.k] : [c.k, c.n])];
    const a = g.randomUniform(sa, -1, 1, { seed: seed++ });
    const b = g.randomUniform(sb, -1, 1, { seed: seed++ });
    const bias = g.randomUniform([c.n], -1, 1, { seed: seed++ });
    const [ra, rb, rbias] = await Promise.all([a, b, bias].map(async (t) => ref(Float64Array.from(await t.data()), [...t.shape])));
    const opts = { transposeA: c.ta, transposeB: c.tb };
    const want = matmulRef(ra!, rb!, { ...opts, bias: rbias!, activation: c.act });
    const mag = matmulRef(ref(ra!.data.map(Math.abs), ra!.shape), ref(rb!.data.map(Math.abs), rb!.shape), opts);
    const out = g.matmul(a, b, { ...opts, bias, activation: c.act });
    const excess = worstExcess(await out.data(), want, mag, variant === 'f16' ? 2 ** -9 : 2e-6);
    for (const t of [a, b, bias, out]) t.dispose();
    if (excess > 0) throw new Error(`matmul variant '${variant}' is wrong on [${sa}] x [${sb}] (${c.act}): exceeds its bound by ${excess}`);
  }
  return `${matmulCases(quick).length} cases within bound`;
}

const probes: Record<string, (variant: string, quick: boolean) => Promise<string>> = {
  matmul: probeMatmul,
  conv2d: probeConv2d,
  depthwise: probeDepthwise,
  batchnorm: probeBatchnorm,
  pool: probePool,
  optimizer: probeOptimizer,
};

const suite: Suite = async (ctx: BenchContext) => {
  await import('../src/ops/matmul.js'); // NOTE: registers the matmul family
  await import('../src/ops/depthwise-conv2d.js'); // NOTE: registers the depthwise family
  const rows: BenchRow[] = [];
  for (const fam of variantFamilies()) {
    const probe = probes[fam.family];
    if (!probe) throw new Error(`variants: no probe for family '${fam.family}'`);
    for (const v of fam.names) {
      const restore = forceVariant(fam.family, v);
      try {
        const t0 = performance.now();
        const what = await probe(v, ctx.quick);
        await ctx.device.sync();
        rows.push({ name: `probe ${fam.family} [${v}]`, metric: 'ms', graft: performance.now() - t0, peers: {}, note: `pass: ${what}` });
        ctx.log(`${fam.family} ${v}: pass`);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (!msg.includes('cannot run on this adapter')) throw e;
        ctx.log(`${fam.family} ${v}: not runnable here: ${msg}`);
        rows.push({ name: `probe ${fam.family} [${v}]`, metric: 'ms', graft: 0, peers: {}, note: `not runnable: ${msg}` });
      } finally {
        restore();
      }
    }
  }
  return rows;
};

export default suite;
