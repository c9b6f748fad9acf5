// Inference fusion (src/nn/fusion.ts) on EfficientNet-B0 with fresh weights: the fused plan ('graft') against the
// same model with fusion off (the 'unfused' column): ms, and per image dispatches, bound storage MB and peak MB.
// Options: --size=32 (input side; default 224, 32 with --quick), --batches=1,8.

import { applications, noGrad, randomUniform, setFusion, setSeed, type Tensor } from '../src/index.js';
import { countWork, isInstrumented } from '../src/gpu/counters.js';
import { intList, timeAsync, type BenchRow, type Suite } from './harness.js';

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
      const figures: Record<'fused' | 'unfused', { ms: number; dispatches: number; mb: number; peak: number }> = {
        fused: { ms: 0, dispatches: 0, mb: 0, peak: 0 },
        unfused: { ms: 0, dispatches: 0, mb: 0, peak: 0 },
      };
      // NOTE: unfused first, then fused, then both again, keeping the second timing of each (the machine may be loaded).
      for (const round of [0, 1]) {
        for (const mode of ['unfused', 'fused'] as const) {
          setFusion(mode === 'fused');
          const t = await timeAsync(run, sync, { iters: ctx.quick ? 3 : 10 });
          const f = figures[mode];
          f.ms = round === 0 ? t.ms : Math.min(f.ms, t.ms);
          if (isInstrumented()) {
            const c = await countWork(ctx.device.gpu, run, sync);
            Object.assign(f, { dispatches: c.dispatches / b, mb: c.kernelBytes / MB / b, peak: c.peakBytes / MB });
          }
        }
      }
      setFusion(true);
      ctx.log(`fusion b${b}: ${figures.unfused.dispatches} -> ${figures.fused.dispatches} dispatches per image`);
      const label = `efficientnet-b0 inference batch ${b} (${size}x${size})`;
      const row = (what: string, metric: BenchRow['metric'], k: 'ms' | 'dispatches' | 'mb' | 'peak'): BenchRow => ({
        name: `${label}${what}`, metric, graft: figures.fused[k], peers: { unfused: figures.unfused[k] },
      });
      rows.push(row(', fused', 'ms', 'ms'));
      if (isInstrumented()) {
        rows.push(row(': dispatches per image', 'dispatches', 'dispatches'), row(': bound storage MB per image', 'MB', 'mb'), row(': peak GPU memory', 'MB', 'peak'));
      }
      x.dispose();
    }
  } finally {
    setFusion(true);
    model.dispose();
  }
  return rows;
};

export default suite;
