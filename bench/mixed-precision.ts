// Mixed precision: one training step of an MLP (Dense layers through matmul) in float32, in mixed_float16 with the
// LossScaleOptimizer compile adds, and in mixed_float16 without loss scaling (autoScaleLoss: false), so that the
// rows give the f16 kernels' gain and the loss scaler's cost (unscale + decide; the update kernels read the skip
// flag) on this adapter.
// Validation first: every case's loss is finite, and the mixed case's first loss is within 1e-2 of float32's.
// Options: --batch=256, --width=1024, --depth=3.

import * as g from '../src/index.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { setGlobalPolicy, type PolicyName } from '../src/nn/mixed-precision.js';
import { model } from '../src/train/model.js';
import { Accumulator, trainStep } from '../src/train/step.js';
import { intList, timeAsync, type BenchContext, type BenchRow, type Suite } from './harness.js';

interface Case {
  label: string;
  policy: PolicyName;
  autoScaleLoss: boolean;
}

const CASES: Case[] = [
  { label: 'float32', policy: 'float32', autoScaleLoss: true },
  { label: 'mixed_float16 + loss scaling', policy: 'mixed_float16', autoScaleLoss: true },
  { label: 'mixed_float16, no loss scaling', policy: 'mixed_float16', autoScaleLoss: false },
];

const suite: Suite = async (ctx: BenchContext): Promise<BenchRow[]> => {
  const [batch] = intList(ctx, 'batch', [ctx.quick ? 64 : 256]);
  const [width] = intList(ctx, 'width', [ctx.quick ? 256 : 1024]);
  const [depth] = intList(ctx, 'depth', [3]);
  const x = g.randomUniform([batch!, width!], -1, 1, { seed: 1 });
  const y = g.oneHot(g.tensor([...Array(batch!).keys()].map((i) => i % 10), [batch!], { dtype: 'int32' }), 10);
  const rows: BenchRow[] = [];
  const firstLoss: number[] = [];
  let baseMs = 0;
  try {
    for (const c of CASES) {
      setGlobalPolicy(c.policy);
      setSeed(3);
      const inp = input({ shape: [width!] });
      let h = inp;
      for (let i = 0; i < depth!; i++) h = layers.dense({ units: width!, activation: 'relu' }).apply(h);
      const m = model({ inputs: inp, outputs: layers.dense({ units: 10, activation: 'softmax', dtype: 'float32' }).apply(h) });
      setGlobalPolicy('float32');
      m.compile({ optimizer: g.optimizers.adam({ learningRate: 1e-4 }), loss: 'categoricalCrossentropy', autoScaleLoss: c.autoScaleLoss });
      const acc = new Accumulator(['loss']);
      trainStep(m, m.compiled!, x, y, acc);
      const loss = (await acc.read()).loss!;
      if (!Number.isFinite(loss)) throw new Error(`mixed-precision bench: ${c.label} gave loss ${loss}`);
      firstLoss.push(loss);
      if (firstLoss.length > 1 && Math.abs(loss - firstLoss[0]!) > 1e-2) {
        throw new Error(`mixed-precision bench: ${c.label}'s first loss ${loss} is not float32's ${firstLoss[0]}`);
      }
      const t = await timeAsync(() => trainStep(m, m.compiled!, x, y, acc), async () => void (await acc.read()), { iters: ctx.quick ? 3 : 7 });
      if (c.policy === 'float32') baseMs = t.ms;
      const ratio = c.policy === 'float32' ? '' : `; ${(baseMs / t.ms).toFixed(2)}x float32's speed`;
      rows.push({ name: `train step MLP ${batch}x${width} depth ${depth}, ${c.label}`, metric: 'ms', graft: t.ms, peers: {}, note: `first ${t.firstMs.toFixed(0)} ms${ratio}` });
      ctx.log(`mixed-precision ${c.label}: ${t.ms.toFixed(1)} ms`);
      acc.dispose();
      m.dispose();
    }
  } finally {
    setGlobalPolicy('float32');
    x.dispose();
    y.dispose();
  }
  return rows;
};

export default suite;
