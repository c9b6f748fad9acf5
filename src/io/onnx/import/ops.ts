// The importer's op table: ONNX op type -> the function (named after the op) that maps a node onto Graft layers.

import type { OnnxNode } from '../model.js';
import type { ImportContext } from './context.js';
import { Clip, HardSigmoid, HardSwish, Relu, Sigmoid, Softmax, Tanh } from './ops-activation.js';
import { Add, Div, Mul, Sub } from './ops-arith.js';
import { BatchNormalization, Conv } from './ops-conv.js';
import { Gemm, MatMul } from './ops-dense.js';
import { AveragePool, GlobalAveragePool, MaxPool, ReduceMean } from './ops-pool.js';
import { Cast, Concat, Dropout, Flatten, Identity, Pad, Reshape, Squeeze, Transpose, Unsqueeze, unfoldable } from './ops-shape.js';

/** Maps one node; sets its outputs in the context. */
export type OpImporter = (ctx: ImportContext, node: OnnxNode) => void;

export const OPS: Readonly<Record<string, OpImporter>> = {
  Conv, BatchNormalization, Relu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh, Mul, Add, Sub, Div, Gemm, MatMul,
  GlobalAveragePool, AveragePool, MaxPool, ReduceMean, Flatten, Reshape, Transpose, Pad, Squeeze, Unsqueeze, Concat,
  Softmax, Identity, Dropout, Cast, Constant: unfoldable, Shape: unfoldable, Gather: unfoldable,
};
