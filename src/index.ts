// Graft: a deep-learning engine on WebGPU.

import { setDefaultModelFileCache } from './applications/model-file-cache.js';
import { setFileBytesReader } from './io/file-bytes.js';
import { nodeModelFileCache } from './node/model-cache.js';
import { readModelFileBytes } from './node/model-file-bytes.js';

export { createDevice, Device, GpuError, type DeviceOptions } from './gpu/device.js';
export { NoAdapterError } from './gpu/acquire.js';
export { registerShaderSource, loadShaders } from './gpu/shader-source.js';
export { init, setDevice, getDevice, tidy, keep, noGrad, isGradEnabled, memory, type MemoryInfo } from './tensor/engine.js';
export {
  Tensor, tensor, scalar, fill, zeros, ones, empty, randomNormal, randomUniform, rng,
  type DType, type CreateOptions, type RandomOptions,
} from './tensor/tensor.js';
export { zeroGrad } from './tensor/autograd.js';
export * from './ops/index.js';
export * from './nn/index.js';
export * from './train/index.js';
export * as applications from './applications/index.js';
export * as onnx from './io/onnx/index.js';
export { importOnnx, importedModelInfo, runImported } from './io/onnx/import/index.js';
export { exportOnnx, exportOnnxBytes, type ExportOptions } from './io/onnx/export.js';
export { runOnnxOnNpy } from './io/onnx/run-npy.js';
export { readNpy, writeNpy, parseNpy, encodeNpy, NpyError, type NpyArray } from './io/npy.js';
export * as data from './data/index.js';
export * from './train/optimizers/index.js';
export * from './train/schedules.js';
export { clipByGlobalNorm } from './train/clip.js';
export { saveTensors, loadTensors } from './io/safetensors.js';
export { EventWriter, readEvents } from './io/tensorboard/index.js';
// NOTE: the Node platform's file reading and model file cache (on main: src/node/index.ts beside setPlatform).
setFileBytesReader(readModelFileBytes);
setDefaultModelFileCache(() => nodeModelFileCache());
export { nodeModelFileCache, modelCacheDir, type NodeModelCacheOptions } from './node/model-cache.js';
