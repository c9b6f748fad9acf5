// ONNX reading, analysis and writing.

export { OnnxError, type OnnxErrorContext } from './errors.js';
export type {
  Dim, OnnxAttribute, OnnxDType, OnnxGraph, OnnxModel, OnnxNode, OnnxOpsetImport, OnnxSparseTensor, OnnxTensor,
  OnnxValueInfo, TensorValues,
} from './model.js';
export { elementCount } from './model.js';
export { parseOnnx, MIN_OPSET, MAX_OPSET, type ParseOptions } from './parse.js';
export { checkModel } from './check.js';
export { loadOnnxModel, type OnnxSource } from './source.js';
export { NodeAttributes } from './attributes.js';
export type { ExternalDataSource } from './tensor-data.js';
export { float16ToFloat32 } from './tensor-data.js';
export { topologicalOrder, checkGraphInputs, graphStats, SUPPORTED_OPS, type GraphStats, type UnsupportedNode } from './graph.js';
export { foldConstants, type FoldedGraph } from './fold.js';
export type { ConstValue } from './const-value.js';
export { inferShapes, broadcast, type ShapeContext } from './shapes.js';
export { checkNodes } from './node-checks.js';
export { oihwToHwio, depthwiseToHwcm, convWeightLayout, denseKernel, type Weight, type ConvWeightLayout } from './layout.js';
export { GraphBuilder, encodeModel, int, ints, float, floats, str, type ModelOptions, type WritableAttribute } from './writer.js';
export { inspectOnnxModel, formatOnnxReport, type OnnxReport } from './inspect.js';
