// Layers the ONNX importer adds to the Keras set (each registered for getConfig/fromConfig).

export { Transpose, type TransposeArgs } from './transpose.js';
export { Softmax, type SoftmaxArgs } from './softmax.js';
export { Concatenate, type ConcatenateArgs } from './concatenate.js';
export { ConstantArithmetic, type ConstantArithmeticArgs, type ArithmeticOp } from './constant-arithmetic.js';
export { ElementwiseBinary, ScalarActivation, MatMul, type ElementwiseBinaryArgs, type ScalarActivationArgs } from './elementwise.js';
export { ConstantPad, ReduceMean, type ConstantPadArgs, type ReduceMeanArgs } from './shape-ops.js';
export { Pool2D, type Pool2DArgs } from './pool2d.js';
export { GroupedConv2D, type GroupedConv2DArgs } from './grouped-conv2d.js';
