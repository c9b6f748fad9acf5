// Fusion (src/nn/fusion.ts) on EfficientNet-B0 with fresh weights: the fused plan ('graft') against the same model
// with fusion off (the 'unfused' column). Inference: ms, and per image dispatches, bound storage MB and peak MB.
// Training from scratch (every BN on batch statistics, so BN + activation run fused forward and backward): one SGD
// step's ms, dispatches, bound storage MB and peak MB (buffer pool emptied before each count).
// Options: --size=32 (inference input side; default 224, 32 with --quick), --batches=1,8, --train-size=96 (32 with
// --quick), --train-batches=8 (2 with --quick; `none` for no training rows).

import { applications, noGrad, oneHot, optimizers, randomUniform, setFusion, setSeed, tensor, type Model, type Tensor } from '../src/index.js';
import { countWork, isInstrumented } from '../src/gpu/counters.js';
import { Accumulator, trainStep } from '../src/train/step.js';
import { intList, timeAsync, type BenchContext, type BenchRow, type Suite } from './harness.js';

const MB = 1024 * 1024;

const suite: Suite = async (ctx) => {
  const size = intList(ctx, 'size', [ctx.quick ? 32 : 224])[0]!;
  const batches = intList(ctx, 'batches', [1]);
  setSeed(3);
  const model = applications.efficientNetB0({ weights: null, inputShape: [size, size, 3] });
  const rows: BenchRow[] = [];
  const sync = () => ctx.device.sync();
  try {
    for (const b of batches) {
      const x = randomUniform([b, size, size, 3], 0, 255, { seed: 4 });
      const run = () => noGrad(() => (model.apply(x) as Tensor).dispose());
      const figures = await fusedVsUnfused(ctx, run, sync, { iters: ctx.quick ? 3 : 10, per: b, emptyPool: false });
      ctx.log(`fusion b${b}: ${figures.unfused.dispatches} -> ${figures.fused.dispatches} dispatches per image`);
      rows.push(...comparisonRows(`efficientnet-b0 inference batch ${b} (${size}x${size})`, 'image', figures));
      x.dispose();
    }
    const trainBatches = ctx.options['train-batches'] === 'none' ? [] : intList(ctx, 'train-batches', [ctx.quick ? 2 : 8]);
    for (const b of trainBatches) rows.push(...(await trainingRows(ctx, b)));
  } finally {
    setFusion(true);
    model.dispose();
  }
  return rows;
};

type Figures = { ms: number; dispatches: number; mb: number; peak: number };

/** One SGD step of B0 trained from scratch (batch statistics), fused and unfused, alternating twice. */
async function trainingRows(ctx: BenchContext, b: number): Promise<BenchRow[]> {
  const size = intList(ctx, 'train-size', [ctx.quick ? 32 : 96])[0]!;
  setSeed(5);
  const model: Model = applications.efficientNetB0({ weights: null, inputShape: [size, size, 3], classes: 10 });
  const x = randomUniform([b, size, size, 3], 0, 255, { seed: 6 });
  const y = oneHot(tensor(Array.from({ length: b }, (_, i) => i % 10), [b], { dtype: 'int32' }), 10);
  const optimizer = optimizers.sgd({ learningRate: 1e-3 });
  model.compile({ optimizer, loss: 'categoricalCrossentropy' });
  const acc = new Accumulator(['loss']);
  const step = () => trainStep(model, model.compiled!, x, y, acc);
  const sync = async () => {
    await acc.read();
  };
  let figures: Comparison;
  try {
    figures = await fusedVsUnfused(ctx, step, sync, { iters: ctx.quick ? 2 : 3, per: 1, emptyPool: true });
  } finally {
    acc.dispose();
    optimizer.dispose();
    for (const t of [x, y]) t.dispose();
    model.dispose();
  }
  ctx.log(`fusion training b${b}: ${figures.unfused.dispatches} -> ${figures.fused.dispatches} dispatches per step`);
  return comparisonRows(`efficientnet-b0 training step from scratch batch ${b} (${size}x${size}, batch statistics)`, 'step', figures);
}

type Comparison = Record<'fused' | 'unfused', Figures>;

/**
 * Runs `run` with fusion off, then on, then both again, keeping the faster timing of each (the machine may be loaded)
 * and, when counters are installed, the second round's counts divided by `per` (peak MB is not divided). `emptyPool`
 * trims the buffer pool before each count, so the peak is the call's own. Fusion is on again afterwards.
 */
async function fusedVsUnfused(
  ctx: BenchContext, run: () => void, sync: () => Promise<void>, o: { iters: number; per: number; emptyPool: boolean },
): Promise<Comparison> {
  const figures: Comparison = { fused: { ms: 0, dispatches: 0, mb: 0, peak: 0 }, unfused: { ms: 0, dispatches: 0, mb: 0, peak: 0 } };
  try {
    for (const round of [0, 1]) {
      for (const mode of ['unfused', 'fused'] as const) {
        setFusion(mode === 'fused');
        const t = await timeAsync(run, sync, { iters: o.iters });
        const f = figures[mode];
        f.ms = round === 0 ? t.ms : Math.min(f.ms, t.ms);
        if (isInstrumented()) {
          if (o.emptyPool) ctx.device.pool.trim();
          const c = await countWork(ctx.device.gpu, run, sync);
          Object.assign(f, { dispatches: c.dispatches / o.per, mb: c.kernelBytes / MB / o.per, peak: c.peakBytes / MB });
        }
      }
    }
  } finally {
    setFusion(true);
  }
  return figures;
}

/** The rows of one comparison: ms, and with counters, dispatches and bound MB per `unit` and the peak GPU memory. */
function comparisonRows(label: string, unit: 'image' | 'step', figures: Comparison): BenchRow[] {
  const row = (what: string, metric: BenchRow['metric'], k: keyof Figures): BenchRow => ({
    name: `${label}${what}`, metric, graft: figures.fused[k], peers: { unfused: figures.unfused[k] },
  });
  const rows = [row(', fused', 'ms', 'ms')];
  if (isInstrumented()) {
    rows.push(row(`: dispatches per ${unit}`, 'dispatches', 'dispatches'), row(`: bound storage MB per ${unit}`, 'MB', 'mb'), row(': peak GPU memory', 'MB', 'peak'));
  }
  return rows;
}

export default suite;
