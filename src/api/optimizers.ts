// graft.optimizers: Keras' optimizers, learning-rate schedules and gradient clipping.

export { sgd, adam, adamw, SGD, Adam, AdamW, optimizerFromConfig } from '../train/optimizers/index.js';
export type { Optimizer, OptimizerOptions, AdamOptions, SgdOptions, OptimizerState } from '../train/optimizers/index.js';
export { exponentialDecay, cosineDecay, type Schedule, type LearningRateSchedule, type ExponentialDecayOptions, type CosineDecayOptions } from '../train/schedules.js';
export { clipByGlobalNorm, clipByNorm, globalNorm } from '../ops/clip.js';
