// Matmul GFLOP/s: square and EfficientNet-like skinny shapes, the naive kernel as baseline, tfjs-webgpu as peer.

import { randomUniform, type Tensor } from '../src/index.js';
import { tunerIdle } from '../src/gpu/tuner.js';
import { forceVariant } from '../src/gpu/variants.js';
import { chooseTile, MATMUL_VARIANTS, matmulNaive, matmulRaw, matmulVariant, type MatmulVariant } from '../src/ops/matmul.js';
import { intList, timeAsync, type BenchContext, type BenchRow, type Suite } from './harness.js';
import { tfjsPeers, tfjsSync } from './peers/tfjs.js';

interface Shape {
  m: number;
  k: number;
  n: number;
  /** Shown after the shape, e.g. the per-image shape of a batched layer. */
  label?: string;
}

/** Squares from --sizes=... (default 256..2048; quick 256, 512), then EfficientNet's shapes unless --skinny=off. */
function shapes(ctx: BenchContext): Shape[] {
  const quick = ctx.quick;
  const batch = quick ? 1 : 8;
  const squares = intList(ctx, 'sizes', quick ? [256, 512] : [256, 512, 1024, 2048]).map((s) => ({ m: s, k: s, n: s }));
  if (ctx.options['skinny'] === 'off') return squares;
  return [
    ...squares,
    // EfficientNet-B0 at 224x224: a 1x1 projection at 112x112 (12544 pixels, 32 -> 16) and the 7x7 stage (1152 -> 320).
    { m: batch * 12544, k: 32, n: 16, label: `12544x32x16 per image, batch ${batch}` },
    { m: batch * 49, k: 1152, n: 320, label: `49x1152x320 per image, batch ${batch}` },
  ];
}

const name = (s: Shape) => `${s.m}x${s.k}x${s.n}${s.label ? ` (${s.label})` : ''}`;

/**
 * Checks sampled entries of C = A·B against float64 dot products; the bound scales with sum |a_ik * b_kj|,
 * the size of the float32 rounding error.
 */
function checkSamples(av: Float32Array, bv: Float32Array, cv: Float32Array, s: Shape, what: string, f16 = false): void {
  const samples = 64;
  for (let t = 0; t < samples; t++) {
    const i = Math.floor(((t * 2654435761) % 4294967296) / 4294967296 * s.m);
    const j = (t * 40503 + 7) % s.n;
    let want = 0;
    let mag = 0;
    for (let k = 0; k < s.k; k++) {
      const p = av[i * s.k + k]! * bv[k * s.n + j]!;
      want += p;
      mag += Math.abs(p);
    }
    const got = cv[i * s.n + j]!;
    // NOTE: f16 tiles round both operands (<= 2^-10 relative each): 2^-9 of sum |a b| on top of the f32 bound.
    if (!(Math.abs(got - want) <= 1e-6 + (f16 ? 2 ** -9 : 2e-6) * mag)) {
      throw new Error(`${what} ${name(s)}: C[${i},${j}] = ${got}, float64 reference ${want}`);
    }
  }
}

async function timeGraft(ctx: BenchContext, run: () => Tensor, flops: number, iters: number) {
  const t = await timeAsync(() => run().dispose(), () => ctx.device.sync(), { warmup: 1, iters });
  return { gflops: flops / t.ms / 1e6, ms: t.ms, firstMs: t.firstMs };
}

/** The variants a row is timed with: --variants=all (every one the adapter runs), or the one the op picks. */
function variantsFor(ctx: BenchContext, a: Tensor, b: Tensor): (MatmulVariant | null)[] {
  if (ctx.options['variants'] !== 'all') return [null];
  return MATMUL_VARIANTS.filter((v) => {
    const restore = forceVariant('matmul', v);
    try {
      matmulRaw(a, b).dispose();
      return true;
    } catch (e) {
      ctx.log(`variant ${v} skipped: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    } finally {
      restore();
    }
  });
}

const matmulSuite: Suite = async (ctx) => {
  const rows: BenchRow[] = [];
  for (const s of shapes(ctx)) {
    const flops = 2 * s.m * s.k * s.n;
    const iters = ctx.quick ? 3 : flops > 4e9 ? 3 : 7;
    const a = randomUniform([s.m, s.k], -1, 1, { seed: 11 });
    const b = randomUniform([s.k, s.n], -1, 1, { seed: 12 });
    const av = (await a.data()) as Float32Array;
    const bv = (await b.data()) as Float32Array;
    const peers = await tfjsPeers(
      ['webgpu'],
      async (tf) => {
        const ta = tf.tensor2d(av, [s.m, s.k]);
        const tb = tf.tensor2d(bv, [s.k, s.n]);
        const tc = tf.matMul(ta, tb);
        const tv = (await tc.data()) as Float32Array;
        tc.dispose();
        checkSamples(av, bv, tv, s, 'tfjs matMul');
        const t = await timeAsync(() => tf.matMul(ta, tb).dispose(), () => tfjsSync(tf), { warmup: 1, iters });
        ta.dispose();
        tb.dispose();
        return flops / t.ms / 1e6;
      },
      ctx.log,
    );
    let picked = 0;
    for (const forced of variantsFor(ctx, a, b)) {
      const restore = forced ? forceVariant('matmul', forced) : () => undefined;
      try {
        // NOTE: with GRAFT_TUNE=on the first call queues the bucket's tuning; the timed calls run its choice.
        matmulRaw(a, b).dispose();
        await tunerIdle();
        const variant = matmulVariant(a, b);
        const c = matmulRaw(a, b);
        const cv = (await c.data()) as Float32Array;
        c.dispose();
        checkSamples(av, bv, cv, s, `graft matmul (${variant})`, variant === 'f16');
        const g = await timeGraft(ctx, () => matmulRaw(a, b), flops, iters);
        if (!forced) picked = g.gflops;
        const tile = chooseTile(s.m, s.n, s.k);
        const how = variant === 'register' ? `tile ${tile.tm}x${4 * tile.tn4} wg ${tile.wgx}x${tile.wgy}` : 'see shaders/matmul_*.wgsl';
        rows.push({
          name: `matmul ${name(s)}${forced ? ` [${forced}]` : ''}`,
          metric: 'GFLOP/s',
          graft: g.gflops,
          peers,
          note: `variant ${variant}; ${g.ms.toFixed(1)} ms/call, first call ${g.firstMs.toFixed(0)} ms, ${how}`,
        });
        ctx.log(`${rows[rows.length - 1]!.name}: ${g.gflops.toFixed(2)} GFLOP/s (variant ${variant})`);
      } finally {
        restore();
      }
    }
    // NOTE: the naive kernel takes ~20 s at 2048^3 on lavapipe; its baseline row stops at 1024.
    if (flops <= 2.2e9 && picked > 0) {
      const cn = matmulNaive(a, b);
      checkSamples(av, bv, (await cn.data()) as Float32Array, s, 'naive matmul');
      cn.dispose();
      const nv = await timeGraft(ctx, () => matmulNaive(a, b), flops, ctx.quick ? 2 : 3);
      rows.push({
        name: `matmul naive ${name(s)}`,
        metric: 'GFLOP/s',
        graft: nv.gflops,
        peers: {},
        note: `baseline: one invocation per output; tuned kernel is ${(picked / nv.gflops).toFixed(1)}x`,
      });
    }
    a.dispose();
    b.dispose();
  }
  return rows;
};

export default matmulSuite;
