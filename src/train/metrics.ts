// Keras metrics as per-example values (1 for a hit, 0 for a miss; or an error), averaged on the GPU by fit/evaluate.

import { argmax, greater, less, mul, oneHot, sum, fullLike, equal, abs, sub, mean } from '../ops/index.js';
import { noGrad } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LossName } from './losses.js';

/** Metric names (Keras' in camelCase; 'accuracy' resolves from the loss, as in Keras). */
export type MetricName =
  | 'accuracy' | 'acc' | 'categoricalAccuracy' | 'sparseCategoricalAccuracy' | 'binaryAccuracy'
  | 'topKCategoricalAccuracy' | 'sparseTopKCategoricalAccuracy' | 'meanAbsoluteError';

/** A metric: a log name and per-example values [N]. */
export interface Metric {
  /** The key in logs (`val_` is prefixed for validation). */
  readonly name: string;
  perExample(yTrue: Tensor, yPred: Tensor): Tensor;
}

/** Options of top-k accuracy. */
export interface TopKOptions {
  /** Default 5. */
  k?: number;
  name?: string;
}

function classes(yPred: Tensor): number {
  return yPred.shape[yPred.rank - 1]!;
}

/** 1 where argmax(pred) is the label's class (labels one-hot or probabilities). */
function categoricalHits(yTrue: Tensor, yPred: Tensor): Tensor {
  // NOTE: int32 argmax results cannot meet float ops; one-hot of the predicted class picks the label's weight.
  return sum(mul(oneHot(argmax(yPred, -1), classes(yPred)), oneHot(argmax(yTrue, -1), classes(yPred))), -1);
}

function sparseIds(yTrue: Tensor, yPred: Tensor): Tensor {
  if (yTrue.dtype !== 'int32') throw new Error(`Graft sparseCategoricalAccuracy: labels must be int32 class ids, got ${yTrue.dtype}`);
  return yTrue;
}

function sparseOneHot(yTrue: Tensor, yPred: Tensor): Tensor {
  const ids = sparseIds(yTrue, yPred);
  const oh = oneHot(ids, classes(yPred));
  // NOTE: labels [N, 1] give [N, 1, C]; drop the middle axis.
  return oh.rank > yPred.rank ? sum(oh, -2) : oh;
}

/** 1 where the label's class is among the k highest predictions (ties counted in its favour). */
function topKHits(labels: Tensor, yPred: Tensor, k: number): Tensor {
  const target = sum(mul(yPred, labels), -1, { keepDims: true });
  const above = sum(greater(yPred, target), -1);
  return less(above, fullLike(above, k));
}

/** Resolves a metric name (using the loss for 'accuracy'). */
export function getMetric(spec: MetricName | Metric, loss: LossName): Metric {
  if (typeof spec !== 'string') return spec;
  switch (spec) {
    case 'accuracy':
    case 'acc': {
      const inner = loss === 'sparseCategoricalCrossentropy' ? 'sparseCategoricalAccuracy' : loss === 'binaryCrossentropy' ? 'binaryAccuracy' : 'categoricalAccuracy';
      return { name: spec, perExample: getMetric(inner, loss).perExample };
    }
    case 'categoricalAccuracy':
      return { name: spec, perExample: categoricalHits };
    case 'sparseCategoricalAccuracy':
      return { name: spec, perExample: (y, p) => sum(mul(oneHot(argmax(p, -1), classes(p)), sparseOneHot(y, p)), -1) };
    case 'binaryAccuracy':
      return { name: spec, perExample: (y, p) => mean(equal(y, greater(p, fullLike(p, 0.5))), -1) };
    case 'topKCategoricalAccuracy':
      return topKCategoricalAccuracy();
    case 'sparseTopKCategoricalAccuracy':
      return { name: spec, perExample: (y, p) => topKHits(sparseOneHot(y, p), p, 5) };
    case 'meanAbsoluteError':
      return { name: spec, perExample: (y, p) => mean(abs(sub(p, y)), -1) };
    default:
      throw new Error(`Graft compile: unknown metric '${spec as string}'`);
  }
}

/** Top-k categorical accuracy (labels one-hot), `metrics.topKCategoricalAccuracy({k: 3})`. */
export function topKCategoricalAccuracy(o: TopKOptions = {}): Metric {
  const k = o.k ?? 5;
  return { name: o.name ?? 'topKCategoricalAccuracy', perExample: (y, p) => topKHits(y, p, k) };
}

/** Evaluates per-example metric values without recording gradients. */
export function metricValues(metrics: readonly Metric[], yTrue: Tensor, yPred: Tensor): Tensor[] {
  return noGrad(() => metrics.map((m) => m.perExample(yTrue, yPred)));
}
