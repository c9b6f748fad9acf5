// Every op, forward and backward; see src/reference/ for the float64 oracle of each.

import { setAutogradOps } from '../tensor/autograd.js';
import { fullLike, mapBinary } from './elementwise.js';

export * from './elementwise.js';
export * from './reduce.js';
export * from './reshape.js';

setAutogradOps(
  (a, b) => mapBinary(a, b, 'add'),
  (t) => fullLike(t, 1),
);
export * from './layout.js';
export * from './matmul.js';
export * from './softmax.js';
export * from './losses.js';
export * from './conv-geometry.js';
export * from './conv2d.js';
export * from './batchnorm.js';
export * from './pool.js';
export * from './augment.js';
export * from './depthwise-conv2d.js';
