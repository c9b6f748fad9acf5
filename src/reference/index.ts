// The float64 oracle: independent plain-TypeScript implementations of every op.

export * from './tensor.js';
export * from './elementwise.js';
export * from './reduce.js';
export * from './gradcheck.js';
export * from './layout.js';
export * from './conv.js';
export * from './softmax.js';
export * from './optimizers.js';
export * from './batchnorm.js';
export * from './pool.js';
export * from './matmul.js';
