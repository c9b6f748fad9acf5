// One training or test step on a batch: forward, loss, backward, optimizer update, and the running sums of the
// loss and metrics, kept in one small GPU vector so that logs need one readback per step at most.

import { add, mean, reshape, concat, sum } from '../ops/index.js';
import { noGrad, tidy, keep } from '../tensor/engine.js';
import { zeroGrad } from '../tensor/autograd.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import type { Functional } from '../nn/functional.js';
import type { Variable } from '../nn/variable.js';
import type { Optimizer } from './optimizers/index.js';
import type { Loss } from './losses.js';
import { metricValues, type Metric } from './metrics.js';
import { inSlices, sliceBatch, sliceLoss } from './micro-batch.js';
import type { CompiledState, Logs } from './training-model.js';

export type { CompiledState };

/** What compile() fixed: the loss, metrics, optimizer and the variables that train (with their path names). */

/** Running sums of [loss, ...metrics] on the GPU and their element counts on the CPU. */
export class Accumulator {
  private sums: Tensor | null = null;
  private counts: number[];

  constructor(private readonly names: string[]) {
    this.counts = names.map(() => 0);
  }

  /** Adds per-example values (one tensor per name) to the sums; no readback. */
  add(values: Tensor[]): void {
    noGrad(() => {
      const next = tidy(() => {
        const v = concat(values.map((t) => reshape(sum(t), [1])), 0);
        return this.sums ? add(this.sums, v) : v;
      });
      this.sums?.dispose();
      this.sums = keep(next);
    });
    values.forEach((t, i) => (this.counts[i]! += t.size));
  }

  /** Means so far, read back in one transfer; keys prefixed (e.g. `val_`). */
  async read(prefix = ''): Promise<Logs> {
    const logs: Logs = {};
    if (!this.sums) return logs;
    const s = await this.sums.data();
    this.names.forEach((n, i) => (logs[prefix + n] = s[i]! / Math.max(1, this.counts[i]!)));
    return logs;
  }

  /** The sums and counts so far, read back (a backup of the epoch's running means). */
  async snapshot(): Promise<AccumulatorState> {
    return { sums: this.sums ? [...(await this.sums.data())] : [], counts: [...this.counts] };
  }

  /** Continues from a snapshot (a resumed epoch's running means include the batches trained before the backup). */
  restore(state: AccumulatorState): void {
    if (state.counts.length !== this.names.length || (state.sums.length !== 0 && state.sums.length !== this.names.length)) {
      throw new Error(`Graft fit: the backup's running logs have ${state.counts.length} values, expected ${this.names.length} (${this.names.join(', ')})`);
    }
    this.sums?.dispose();
    this.sums = state.sums.length === 0 ? null : keep(tensor(Float32Array.from(state.sums), [state.sums.length]));
    this.counts = [...state.counts];
  }

  dispose(): void {
    this.sums?.dispose();
    this.sums = null;
  }
}

/** Accumulator sums and counts, as numbers. */
export interface AccumulatorState {
  sums: number[];
  counts: number[];
}

/** Shapes the model output for a single-output loss. */
function single(out: Tensor | Tensor[]): Tensor {
  if (Array.isArray(out)) {
    if (out.length !== 1) throw new Error(`Graft fit: the model has ${out.length} outputs; losses for multi-output models are not supported`);
    return out[0]!;
  }
  return out;
}

/** One optimizer step on (x, y), in micro-batches when the batch's tensors exceed the buffer limit; the loss and metric values go into `acc`. */
export function trainStep(model: Functional, c: CompiledState, x: Tensor | Tensor[], y: Tensor, acc: Accumulator): void {
  const params = c.trainable.map((t) => t.variable.value);
  const batch = y.shape[0] ?? 1;
  const kept: Tensor[][] = [];
  let trained = false;
  const dropKept = () => {
    for (const vs of kept.splice(0)) for (const t of vs) t.dispose();
  };
  for (const p of params) p.requiresGrad = true;
  try {
    inSlices(model, 'train', x, `a training step of model '${model.name}'`, (start, count) => {
      const whole = count === batch;
      kept.push(tidy(() => {
        const xs = whole ? x : sliceBatch(x, start, count);
        const ys = whole ? y : sliceBatch(y, start, count);
        const pred = single(model.call(xs, { training: true, frozen: false }));
        const per = c.loss.perExample(ys, pred);
        // NOTE: gradients accumulate across slices; sum/batch per slice adds up to the full batch's mean.
        const loss = whole ? mean(per) : sliceLoss(per, batch);
        if (loss.requiresGrad) {
          // NOTE: a LossScaleOptimizer multiplies the loss by its scale (on the GPU); the logs keep the unscaled values.
          (c.optimizer.scaleLoss?.(loss) ?? loss).backward();
          trained = true;
        }
        return [per, ...metricValues(c.metrics, ys, pred)];
      }));
    }, () => {
      zeroGrad(params);
      dropKept();
      trained = false;
    });
    if (trained) {
      tidy(() => {
        const pairs = c.trainable
          .filter((t) => t.variable.value.grad)
          .map((t) => ({ param: t.variable.value, grad: t.variable.value.grad!, name: t.name }));
        c.optimizer.applyGradients(pairs);
      });
      // NOTE: also for custom optimizers that do not extend the base class: their in-place updates bump versions.
      for (const t of c.trainable) t.variable.markChanged();
    }
    for (const values of kept) acc.add(values);
  } finally {
    dropKept();
    zeroGrad(params);
    for (const p of params) p.requiresGrad = false;
  }
}

/** Loss and metrics on (x, y) in inference mode, in slices when the batch does not fit; values go into `acc`. */
export function testStep(model: Functional, c: Pick<CompiledState, 'loss' | 'metrics'>, x: Tensor | Tensor[], y: Tensor, acc: Accumulator): void {
  const batch = y.shape[0] ?? 1;
  const kept: Tensor[][] = [];
  const dropKept = () => {
    for (const vs of kept.splice(0)) for (const t of vs) t.dispose();
  };
  try {
    inSlices(model, 'infer', x, `an evaluation step of model '${model.name}'`, (start, count) => {
      const whole = count === batch;
      kept.push(noGrad(() => tidy(() => {
        const xs = whole ? x : sliceBatch(x, start, count);
        const ys = whole ? y : sliceBatch(y, start, count);
        const pred = single(model.call(xs, { training: false, frozen: false }));
        return [c.loss.perExample(ys, pred), ...metricValues(c.metrics, ys, pred)];
      })));
    }, dropKept);
    for (const values of kept) acc.add(values);
  } finally {
    dropKept();
  }
}
