// src/train: the Keras training API.

export { Model, Sequential, model, sequential, type CompileArgs, type PredictArgs } from './model.js';
export type { FitArgs, EvaluateArgs } from './fit-loop.js';
export { DeviceLostError, type DeviceRecoveryOptions } from './device-recovery.js';
export type { Batch, Dataset } from './data-adapter.js';
export * as losses from './losses.js';
export * as metrics from './metrics.js';
export * as callbacks from './callbacks/index.js';
export { Callback, History, type CallbackHooks, type Logs, type CallbackParams } from './callbacks/callback.js';
export type { Loss, LossName } from './losses.js';
export type { Metric, MetricName } from './metrics.js';
export { loadModel } from './model.js';
export type { CheckpointInfo } from './checkpoint.js';
