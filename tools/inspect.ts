// `graft inspect model.onnx`: prints a model's interface, opset, op counts, parameters and unsupported ops.
// Usage: tsx tools/inspect.ts model.onnx [--json]

import { OnnxError } from '../src/io/onnx/errors.js';
import { formatOnnxReport, inspectOnnx } from '../src/node/onnx-file.js';

/** Runs the inspect command on argv-style arguments; returns the process exit code. */
export function inspectCommand(args: string[]): number {
  const files = args.filter((a) => !a.startsWith('--'));
  if (files.length === 0) {
    console.error('usage: graft inspect model.onnx [--json]');
    return 2;
  }
  let code = 0;
  for (const file of files) {
    try {
      const report = inspectOnnx(file);
      console.log(args.includes('--json') ? JSON.stringify(report, null, 2) : formatOnnxReport(report));
    } catch (e) {
      if (!(e instanceof OnnxError)) throw e;
      console.error(e.message);
      code = 1;
    }
  }
  return code;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = inspectCommand(process.argv.slice(2));
