// Graft: a deep-learning engine on WebGPU.

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
