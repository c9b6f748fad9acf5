// Every op, forward and backward; see src/reference/ for the float64 oracle of each.

export * from './elementwise.js';
export * from './reduce.js';
export * from './reshape.js';
export * from './layout.js';
// NOTE: matmul's variant, tile and naive-kernel helpers stay internal (tests and benches import them from ./matmul.js).
export { matmul, MatmulActivation, type MatmulActivationName, type MatmulOptions } from './matmul.js';
export * from './softmax.js';
export * from './losses.js';
export * from './conv-geometry.js';
// NOTE: conv2d's variant helpers stay internal too (tests and benches import them from ./conv2d.js).
export {
  biasGradient,
  checkConvArgs,
  conv2d,
  conv2dBackwardFilter,
  conv2dBackwardInput,
  conv2dRaw,
  sumPartials,
  type Conv2DOptions,
} from './conv2d.js';
export * from './batchnorm.js';
export * from './pool.js';
export * from './augment.js';
// NOTE: depthwise's variant, bucket and kernel-kind helpers stay internal (tests and benches import them from ./depthwise-conv2d.js).
export {
  depthwiseBackwardFilter,
  depthwiseBackwardInput,
  depthwiseConv2d,
  depthwiseConv2dRaw,
  type DepthwiseConv2DOptions,
} from './depthwise-conv2d.js';
