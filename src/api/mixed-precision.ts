// graft.mixedPrecision: Keras' keras.mixed_precision — dtype policies and the loss-scale optimizer.
// Porting note: tensors stay float32 in memory; 'mixed_float16' puts f16 in the kernels' storage tiles (see
// src/nn/mixed-precision.ts).

export { Policy, setGlobalPolicy, globalPolicy, type PolicyName } from '../nn/mixed-precision.js';
export { LossScaleOptimizer, lossScaleOptimizer, type LossScaleOptions } from '../train/optimizers/loss-scale.js';
