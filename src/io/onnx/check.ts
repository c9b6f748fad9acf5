// Graph checks every loaded ONNX model passes before use.

import { foldConstants } from './fold.js';
import { checkGraphInputs } from './graph.js';
import type { OnnxModel } from './model.js';
import { checkNodes } from './node-checks.js';

/** Graph checks: every input defined, no cycles, consistent Conv/BatchNormalization/Gemm weights. */
export function checkModel(model: OnnxModel): void {
  checkGraphInputs(model);
  const { shapes } = foldConstants(model);
  checkNodes(model, shapes);
}
