// Optimizer-update throughput (GB/s of the minimum traffic): one row per runnable 'optimizer' variant (scalar, vec4)
// for Adam and SGD with momentum, on a length that is a multiple of 4 and one that is not, with tfjs-webgpu's Adam
// beside the unforced row. Each variant is validated against the float64 reference optimizer before timing.

import * as g from '../src/index.js';
import { capsOf, forceVariant } from '../src/gpu/variants.js';
import { OPTIMIZER_VARIANTS, optimizerVariant, optimizerVariantUnsupported } from '../src/ops/optimizers.js';
import { RefOptimizer } from '../src/reference/optimizers.js';
import { adam, sgd, type BaseOptimizer } from '../src/train/optimizers/index.js';
import { timeAsync, type BenchRow, type Suite } from './harness.js';
import { loadTfjs, tfjsSync, type Tf } from './peers/tfjs.js';

const gbps = (bytes: number, ms: number) => bytes / ms / 1e6;

/** Runs `fn` with the optimizer family forced to `variant` (null: the unforced choice). */
function forced(variant: string | null, fn: () => void): () => void {
  return () => {
    if (variant === null) return fn();
    const restore = forceVariant('optimizer', variant);
    try {
      fn();
    } finally {
      restore();
    }
  };
}

/** Three steps of `make()` under `variant` against the reference; throws when a parameter leaves the bound. */
async function validate(variant: string | null, n: number, make: () => BaseOptimizer, kind: 'adam' | 'sgd'): Promise<void> {
  const p = g.randomUniform([n], -1, 1, { seed: 1 });
  const grad = g.randomUniform([n], -1, 1, { seed: 2 });
  const want = Float64Array.from(await p.data());
  const gv = Float64Array.from(await grad.data());
  const opt = make();
  const reference = new RefOptimizer(kind === 'adam' ? { kind, lr: 0.001 } : { kind, lr: 0.01, momentum: 0.9 });
  for (let s = 0; s < 3; s++) {
    forced(variant, () => opt.applyGradients([{ param: p, grad, name: 'w' }]))();
    reference.step([want], [gv]);
  }
  const got = await p.data();
  for (let i = 0; i < n; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 2e-6 + 2e-5 * Math.abs(want[i]!))) {
      throw new Error(`optimizer: variant ${variant ?? 'default'} ${kind} n=${n} failed validation at ${i}: ${got[i]} vs ${want[i]}`);
    }
  }
  for (const t of [p, grad]) t.dispose();
  opt.dispose();
}

const suite: Suite = async (ctx) => {
  let tf: Tf | null = null;
  try {
    tf = await loadTfjs('webgpu');
  } catch (e) {
    ctx.log(`tfjs-webgpu unavailable: ${(e as Error).message}`);
  }
  const rows: BenchRow[] = [];
  const opts = ctx.quick ? { warmup: 1, iters: 3 } : { warmup: 2, iters: 7 };
  const base = ctx.quick ? 1 << 18 : 1 << 22;
  const rules = [
    { kind: 'adam' as const, make: () => adam(), bytes: 28, slots: 'm, v' },
    { kind: 'sgd' as const, make: () => sgd({ learningRate: 0.01, momentum: 0.9 }), bytes: 20, slots: 'momentum' },
  ];
  for (const n of [base, base + 3]) {
    for (const rule of rules) {
      const ruleName = rule.kind === 'adam' ? 'adam' : 'sgd_momentum';
      const chosen = optimizerVariant(ctx.device, ruleName, n);
      const variants = [chosen, ...OPTIMIZER_VARIANTS.filter((v) => v !== chosen && optimizerVariantUnsupported(capsOf(ctx.device), v) === null)];
      for (const v of variants) {
        const force = v === chosen ? null : v;
        await validate(force ?? chosen, Math.min(n, 4099), rule.make, rule.kind);
        const p = g.randomUniform([n], -1, 1, { seed: 3 });
        const grad = g.randomUniform([n], -1e-3, 1e-3, { seed: 4 });
        const opt = rule.make();
        const t = await timeAsync(forced(force, () => opt.applyGradients([{ param: p, grad, name: 'w' }])), () => ctx.device.sync(), opts);
        // NOTE: per element: read p, g and the slots, write p and the slots (Adam 7 floats, SGD-momentum 5).
        const row: BenchRow = {
          name: `${ruleName} update n=${n} [${v}]`, metric: 'GB/s', graft: gbps(n * rule.bytes, t.ms), peers: {},
          note: `${t.ms.toFixed(2)} ms (first ${t.firstMs.toFixed(0)} ms)`,
        };
        if (tf && !force && rule.kind === 'adam') {
          const tp = tf.variable(tf.tensor1d(await p.data()));
          const tg = tf.tensor1d(await grad.data());
          const topt = tf.train.adam(0.001, 0.9, 0.999, 1e-7);
          const pt = await timeAsync(() => topt.applyGradients([{ name: tp.name, tensor: tg }]), () => tfjsSync(tf!), opts);
          row.peers['tfjs-webgpu'] = gbps(n * rule.bytes, pt.ms);
          topt.dispose();
          tp.dispose();
          tg.dispose();
        }
        rows.push(row);
        ctx.log(`${row.name}: ${row.graft.toFixed(2)} GB/s`);
        for (const x of [p, grad]) x.dispose();
        opt.dispose();
      }
    }
  }
  return rows;
};

export default suite;
