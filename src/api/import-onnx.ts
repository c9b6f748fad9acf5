// importOnnx: an ONNX file or its bytes as a trainable Graft Model (NCHW graphs held NHWC).

import { readBytes, type ByteSource } from '../io/bytes.js';
import { importOnnxGraph, recordImportedModel, type ImportOptions } from '../io/onnx/import/index.js';
import type { OnnxSource } from '../io/onnx/source.js';
import { Model } from '../train/model.js';

/** protobuf's own limit: larger weights belong in external data (Node). */
const MAX_ONNX_BYTES = 2 ** 31 - 1;

/**
 * Imports an ONNX model (a path in Node, or the file's bytes anywhere) as a Graft Model of trainable layers.
 * Every unsupported op or inconsistent node is an OnnxError naming it; no GPU memory is kept after a failure.
 */
export function importOnnx(source: OnnxSource, options: ImportOptions = {}): Model {
  const graph = importOnnxGraph(source, options);
  const model = new Model(graph.args);
  recordImportedModel(model, graph.info);
  return model;
}

/** importOnnx from anywhere: a path (Node's files, OPFS in a browser), a URL, a Blob/File, a Response or bytes. */
export async function loadOnnx(source: ByteSource, options: ImportOptions = {}): Promise<Model> {
  const bytes = await readBytes(source, { what: 'loadOnnx', maxBytes: MAX_ONNX_BYTES });
  return importOnnx(bytes, options);
}
