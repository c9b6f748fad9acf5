// Reading ONNX model files from disk (Node): decode, resolve external data inside the model's folder, check.

import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkModel } from '../io/onnx/check.js';
import { OnnxError } from '../io/onnx/errors.js';
import { formatOnnxReport, inspectOnnxModel, type OnnxReport } from '../io/onnx/inspect.js';
import type { OnnxModel } from '../io/onnx/model.js';
import { parseOnnx } from '../io/onnx/parse.js';
import { folderExternalData } from './onnx-external-data.js';

/** Options of readOnnxFile. */
export interface ReadOptions {
  /** Run graph checks (dangling inputs, cycles, Conv/BN/Gemm consistency); default true. */
  check?: boolean;
}

/** Largest model file read (protobuf itself is limited to 2 GiB; bigger weights belong in external data). */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

/** Reads, decodes and (by default) checks an ONNX file. Every failure is an OnnxError naming the file. */
export function readOnnxFile(path: string, options: ReadOptions = {}): OnnxModel {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new OnnxError({ file: path }, 'is not a regular file');
    size = stat.size;
  } catch (e) {
    if (e instanceof OnnxError) throw e;
    throw new OnnxError({ file: path }, `cannot be read: ${(e as Error).message}`);
  }
  if (size > MAX_MODEL_BYTES) throw new OnnxError({ file: path }, `is ${size} bytes, over the 2 GiB protobuf limit`);
  const model = parseOnnx(readFileSync(path), { file: path, external: folderExternalData(path, dirname(path)) });
  if (options.check ?? true) checkModel(model);
  return model;
}

/** Reads and checks an ONNX file and summarizes it (`graft inspect`). Throws OnnxError for unreadable or inconsistent files. */
export function inspectOnnx(path: string, supported?: ReadonlySet<string>): OnnxReport {
  return inspectOnnxModel(readOnnxFile(path), statSync(path).size, supported);
}

export { formatOnnxReport, type OnnxReport };
