// `graft inspect model.onnx`: prints a model's interface, opset, op counts, parameters and unsupported ops.
// Usage: graft inspect model.onnx... [--json]

import { OnnxError } from '../src/io/onnx/errors.js';
import { formatOnnxReport, inspectOnnx } from '../src/node/onnx-file.js';

/** Options of `graft inspect`. */
export interface InspectFlags {
  /** Print the report as JSON. */
  json?: boolean;
}

/** Inspects each file; returns the exit code (1 when a file is not a readable ONNX model). */
export function inspectCommand(files: readonly string[], flags: InspectFlags = {}): number {
  let code = 0;
  for (const file of files) {
    try {
      const report = inspectOnnx(file);
      console.log(flags.json ? JSON.stringify(report, null, 2) : formatOnnxReport(report));
    } catch (e) {
      if (!(e instanceof OnnxError)) throw e;
      console.error(e.message);
      code = 1;
    }
  }
  return code;
}
