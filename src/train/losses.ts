// Keras losses: each gives the per-example loss [N]; compile/fit reduce it with a mean over the batch
// (Keras' 'sum_over_batch_size').

import {
  abs, affine, categoricalCrossentropy as cceProbs, clip, exp, log, mean, mul, neg, relu, sparseCategoricalCrossentropy as sceProbs,
  softmaxCrossEntropy, sparseSoftmaxCrossEntropy, squaredDifference, sub, add,
} from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';

/** Loss names, Keras' in camelCase. */
export type LossName = 'categoricalCrossentropy' | 'sparseCategoricalCrossentropy' | 'binaryCrossentropy' | 'meanSquaredError';

/** Options of the cross-entropy losses. */
export interface CrossentropyOptions {
  /** Predictions are logits rather than probabilities (default false). */
  fromLogits?: boolean;
}

/** A loss: per-example values from (yTrue, yPred), and the config that rebuilds it. */
export interface Loss {
  readonly name: LossName;
  readonly fromLogits: boolean;
  /** Per-example loss, shape = yPred's shape without its last axis. */
  perExample(yTrue: Tensor, yPred: Tensor): Tensor;
}

const EPS = 1e-7;

function bce(yTrue: Tensor, yPred: Tensor, fromLogits: boolean): Tensor {
  if (yTrue.dtype !== 'float32' || formatShape(yTrue.shape) !== formatShape(yPred.shape)) {
    throw new Error(`Graft binaryCrossentropy: labels ${formatShape(yTrue.shape)} (${yTrue.dtype}) must be float32 of the predictions' shape ${formatShape(yPred.shape)}`);
  }
  let per: Tensor;
  if (fromLogits) {
    // NOTE: relu(x) - x*y + log(1 + exp(-|x|)), TensorFlow's stable form.
    per = add(sub(relu(yPred), mul(yPred, yTrue)), log(affine(exp(neg(abs(yPred))), 1, 1)));
  } else {
    const p = clip(yPred, EPS, 1 - EPS);
    const pos = mul(yTrue, log(p));
    const negPart = mul(affine(yTrue, -1, 1), log(affine(p, -1, 1)));
    per = neg(add(pos, negPart));
  }
  return mean(per, -1);
}

/** Builds a loss from its name and options. */
export function getLoss(spec: LossName | Loss, options: CrossentropyOptions = {}): Loss {
  if (typeof spec !== 'string') return spec;
  const fromLogits = options.fromLogits ?? false;
  switch (spec) {
    case 'categoricalCrossentropy':
      return { name: spec, fromLogits, perExample: (y, p) => (fromLogits ? softmaxCrossEntropy(p, y) : cceProbs(p, y)) };
    case 'sparseCategoricalCrossentropy':
      return { name: spec, fromLogits, perExample: (y, p) => (fromLogits ? sparseSoftmaxCrossEntropy(p, y) : sceProbs(p, y)) };
    case 'binaryCrossentropy':
      return { name: spec, fromLogits, perExample: (y, p) => bce(y, p, fromLogits) };
    case 'meanSquaredError':
      return { name: spec, fromLogits: false, perExample: (y, p) => mean(squaredDifference(p, y), -1) };
    default:
      throw new Error(`Graft compile: unknown loss '${spec as string}' (known: categoricalCrossentropy, sparseCategoricalCrossentropy, binaryCrossentropy, meanSquaredError)`);
  }
}

/** Factories for losses with options: `losses.categoricalCrossentropy({fromLogits: true})`. */
export const categoricalCrossentropy = (o: CrossentropyOptions = {}) => getLoss('categoricalCrossentropy', o);
export const sparseCategoricalCrossentropy = (o: CrossentropyOptions = {}) => getLoss('sparseCategoricalCrossentropy', o);
export const binaryCrossentropy = (o: CrossentropyOptions = {}) => getLoss('binaryCrossentropy', o);
export const meanSquaredError = () => getLoss('meanSquaredError');
