// The small model and the shuffled in-memory dataset that the resume, backup and device-loss tests train: every
// source of state a resumed fit must continue (flips, dropout, BN statistics, Adam slots, a step-counting schedule,
// a per-epoch data order).

import { oneHot, tensor } from '../../src/index.js';
import { Dataset, type DatasetSource } from '../../src/data/index.js';
import { input, layers, setSeed } from '../../src/nn/index.js';
import { model, type Model } from '../../src/train/index.js';
import type { Batch } from '../../src/train/data-adapter.js';
import { adam } from '../../src/train/optimizers/index.js';
import { exponentialDecay } from '../../src/train/schedules.js';
import { rng } from '../../src/tensor/tensor.js';

/** Options of resumeNet. */
export interface ResumeNetOptions {
  /** Put a RandomFlip first (default true). */
  flip?: boolean;
  /** Learning rate: a number, or (default) an exponential decay from 0.05 that halves every 3 steps. */
  learningRate?: number;
}

/** conv + BN + relu + pooling + dropout + dense on [4, 4, 2] inputs, compiled with Adam, seeded. */
export function resumeNet(seed: number, o: ResumeNetOptions = {}): Model {
  setSeed(seed);
  const x = input({ shape: [4, 4, 2] });
  let h = (o.flip ?? true) ? layers.randomFlip({ mode: 'horizontal' }).apply(x) : x;
  h = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'conv' }).apply(h);
  h = layers.batchNormalization({ name: 'bn' }).apply(h);
  h = layers.activation({ activation: 'relu' }).apply(h);
  h = layers.globalAveragePooling2d().apply(h);
  h = layers.dropout({ rate: 0.3 }).apply(h);
  const m = model({ inputs: x, outputs: layers.dense({ units: 2, activation: 'softmax', name: 'head' }).apply(h) });
  m.compile({
    optimizer: adam({ learningRate: o.learningRate ?? exponentialDecay({ initialLearningRate: 0.05, decaySteps: 3, decayRate: 0.5 }) }),
    loss: 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  return m;
}

/**
 * Examples `x` ([n, 4, 4, 2] row-major) with 2-class `labels` in batches of `batch`, reshuffled every epoch from
 * (seedBase + epoch) as image datasets are; batches are made on the current device when iterated.
 */
export function shuffledBatches(x: Float64Array, labels: readonly number[], batch: number, seedBase: number): Dataset<Batch> {
  const n = labels.length;
  const per = x.length / n;
  const source: DatasetSource<Batch> = {
    length: Math.ceil(n / batch),
    classNames: ['a', 'b'],
    filePaths: [],
    epoch: 0,
    async *iterate() {
      const r = rng(seedBase + source.epoch++);
      const order = [...Array(n).keys()];
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (let s = 0; s < n; s += batch) {
        const rows = order.slice(s, s + batch);
        const xs = rows.flatMap((k) => [...x.subarray(k * per, (k + 1) * per)]);
        yield { x: tensor(xs, [rows.length, 4, 4, 2]), y: oneHot(tensor(rows.map((k) => labels[k]!), [rows.length], { dtype: 'int32' }), 2) };
      }
    },
    cached: () => source,
  };
  return new Dataset<Batch>(source);
}
