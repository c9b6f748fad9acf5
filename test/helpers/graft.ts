// The browser-safe part of Graft's API that the kernel suites use (they run in Node and in Chromium):
// tensors, autograd, engine and every op; nothing that reaches node:*, sharp or Dawn's package.

export { Device, GpuError } from '../../src/gpu/device.js';
export { init, setDevice, getDevice, tidy, keep, noGrad, isGradEnabled, memory, type MemoryInfo } from '../../src/tensor/engine.js';
export {
  Tensor, tensor, scalar, fill, zeros, ones, empty, randomNormal, randomUniform, rng,
  type DType, type CreateOptions, type RandomOptions,
} from '../../src/tensor/tensor.js';
export { zeroGrad } from '../../src/tensor/autograd.js';
export * from '../../src/ops/index.js';
