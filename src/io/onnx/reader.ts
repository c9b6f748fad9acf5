// Reading ONNX model files from disk (Node): decode, resolve external data inside the model's folder, check.

import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { OnnxError } from './errors.js';
import { folderExternalData } from './external-data.js';
import { foldConstants } from './fold.js';
import { checkGraphInputs } from './graph.js';
import type { OnnxModel } from './model.js';
import { checkNodes } from './node-checks.js';
import { parseOnnx } from './parse.js';

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

/** Graph checks: every input defined, no cycles, consistent Conv/BatchNormalization/Gemm weights. */
export function checkModel(model: OnnxModel): void {
  checkGraphInputs(model);
  const { shapes } = foldConstants(model);
  checkNodes(model, shapes);
}
