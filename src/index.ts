// Graft: a deep-learning engine on WebGPU — the platform-free core. Import it through 'graft' (which picks
// src/node/ or src/browser/ and installs that platform) rather than directly.
//
// At the root: the device, tensors, autograd and every tensor op (as tf.matmul), plus the Keras shortcuts
// input/model/sequential/loadModel. Everything else lives in namespaces named as in Keras and TF.js.

export { createDevice, Device, GpuError, type DeviceOptions } from './gpu/device.js';
export { GpuMemoryError } from './gpu/buffer-pool.js';
export { NoAdapterError } from './gpu/acquire.js';
export { registerShaderSource, loadShaders } from './gpu/shader-source.js';
export { setPlatform, platform, type Platform, type FileStore, type RgbImage, type ImageSource, type TextSink } from './platform/platform.js';
export { init, setDevice, getDevice, tidy, keep, noGrad, isGradEnabled, memory, type MemoryInfo } from './tensor/engine.js';
export {
  Tensor, tensor, scalar, fill, zeros, ones, empty, randomNormal, randomUniform, rng,
  type DType, type CreateOptions, type RandomOptions,
} from './tensor/tensor.js';
export { zeroGrad } from './tensor/autograd.js';
export * from './ops/index.js';

export { input, model, sequential, loadModel, importOnnx, loadOnnx, Model, Sequential } from './api/models.js';
export { setSeed } from './nn/random.js';
export { setFusion, fusionEnabled } from './nn/fusion.js';

export * as layers from './nn/factories.js';
export * as models from './api/models.js';
export * as callbacks from './train/callbacks/index.js';
export { DeviceLostError, type DeviceRecoveryOptions } from './train/device-recovery.js';
export * as optimizers from './api/optimizers.js';
export * as mixedPrecision from './api/mixed-precision.js';
export * as losses from './train/losses.js';
export * as metrics from './train/metrics.js';
export * as data from './data/index.js';
export * as io from './api/io.js';
export * as applications from './applications/index.js';
