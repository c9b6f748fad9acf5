// What training code (fit, callbacks, checkpoints) needs of a model: the Functional graph plus its training state.
// Model implements it; depending on this interface instead of Model keeps train/ free of import cycles.

import type { Functional } from '../nn/functional.js';
import type { Variable } from '../nn/variable.js';
import type { Loss, LossName } from './losses.js';
import type { Metric, MetricName } from './metrics.js';
import type { Optimizer } from './optimizers/index.js';

/** Loss and metric values by name (Keras' logs dict). */
export type Logs = Record<string, number>;

/** What compile() fixed. */
export interface CompiledState {
  loss: Loss;
  metrics: Metric[];
  optimizer: Optimizer;
  /** Trainable variables at compile time, with the names that key optimizer slots. */
  trainable: { variable: Variable; name: string }[];
}

/** Options of compile(). */
export interface CompileArgs {
  /** An optimizer instance, or a name for one with Keras defaults. */
  optimizer: Optimizer | 'sgd' | 'adam' | 'adamw';
  loss: LossName | Loss;
  metrics?: (MetricName | Metric)[];
  /** Wrap the optimizer in a LossScaleOptimizer when the model has mixed_float16 layers (default true, as Keras). */
  autoScaleLoss?: boolean;
}

/** A compiled Functional model as fit, callbacks and checkpoints see it. */
export interface TrainingModel extends Functional {
  /** Set to true (e.g. by a callback) to stop fit after the current batch. */
  stopTraining: boolean;
  /** Epochs completed by fit. */
  epochsDone: number;
  /** The History of the last fit. */
  history: object | null;
  /** The compiled optimizer (null before compile). */
  readonly optimizer: Optimizer | null;
  /** What compile() fixed, or null. */
  readonly compiled: CompiledState | null;
  compile(args: CompileArgs): void;
  save(path: string): Promise<void>;
  saveWeights(path: string): Promise<void>;
}
