// runOnnxOnNpy: imports an ONNX file and runs it on a NumPy array in the layout the file declares (the parity
// check users run against onnxruntime); the first output comes back in the file's layout too.

import { npyToFloat32, type NpyArray } from '../io/npy.js';
import { OnnxError } from '../io/onnx/errors.js';
import { importedModelInfo } from '../io/onnx/import/importer.js';
import { runImported } from '../io/onnx/import/run.js';
import { importOnnx } from '../api/import-onnx.js';
import { readNpy } from './npy-file.js';

/** Options of runOnnxOnNpy. */
export interface RunOnnxOptions {
  /** The graph input the array feeds; default: the only input. */
  inputName?: string;
  /** Examples per GPU run; default: all at once. */
  batchSize?: number;
}

/** Runs the model at `modelPath` on the array (or .npy path); returns its first output as float32. */
export async function runOnnxOnNpy(modelPath: string, input: string | NpyArray, options: RunOnnxOptions = {}): Promise<NpyArray> {
  const array = typeof input === 'string' ? readNpy(input) : input;
  if (array.shape.length < 1) throw new OnnxError({ file: modelPath }, 'the input array is a scalar; a batch dimension is needed');
  const model = importOnnx(modelPath, {});
  try {
    const info = importedModelInfo(model)!;
    if (info.inputs.length !== 1) {
      throw new OnnxError({ file: modelPath }, `has ${info.inputs.length} inputs (${info.inputs.map((i) => i.name).join(', ')}); one array can feed only single-input models`);
    }
    const only = info.inputs[0]!;
    if (options.inputName !== undefined && options.inputName !== only.name) {
      throw new OnnxError({ file: modelPath }, `has no input named '${options.inputName}' (its input is '${only.name}')`);
    }
    const declared = only.onnxShape;
    const fits = declared.length === array.shape.length && declared.every((d, i) => i === 0 || typeof d !== 'number' || d === array.shape[i]);
    if (!fits) {
      throw new OnnxError({ file: modelPath, tensor: only.name }, `expects shape [${declared.map((d) => d ?? '?').join(',')}], the array has [${array.shape.join(',')}]`);
    }
    const [out] = await runImported(model, [{ shape: array.shape, data: npyToFloat32(array) }], { batchSize: options.batchSize });
    return { dtype: 'float32', shape: out!.shape, data: out!.data };
  } finally {
    model.dispose();
  }
}
