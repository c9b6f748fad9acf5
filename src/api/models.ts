// graft.models: building, loading, importing and saving models (Keras' keras.Model / keras.models).

export { Model, Sequential, model, sequential, type CompileArgs, type PredictArgs } from '../train/model.js';
export type { FitArgs, EvaluateArgs } from '../train/fit-loop.js';
export type { Batch, Dataset } from '../train/data-adapter.js';
export { loadModel } from '../train/model.js';
export type { CheckpointInfo } from '../train/checkpoint.js';
export { importOnnx, loadOnnx } from './import-onnx.js';
export { Functional, type FunctionalArgs, type SequentialArgs } from '../nn/functional.js';
export { input, InputLayer, type InputArgs } from '../nn/layers/input.js';
export { Layer, type LayerArgs, type CallContext, type ApplyOptions, type LayerConfig } from '../nn/layer.js';
export { SymbolicTensor } from '../nn/layer.js';
export type { Shape } from '../nn/symbolic.js';
export { Variable } from '../nn/variable.js';
export { registerLayer, deserializeLayer, type LayerClass } from '../nn/registry.js';
