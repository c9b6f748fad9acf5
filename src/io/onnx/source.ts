// Where an ONNX model comes from: bytes anywhere, a file path where the platform has files that can be read in place.

import { checkModel } from './check.js';
import type { OnnxModel } from './model.js';
import { parseOnnx } from './parse.js';

/** ONNX bytes, or a file path (Node). In a browser, fetch the file first: `await graft.io.readBytes(url)`. */
export type OnnxSource = string | Uint8Array | ArrayBuffer;

let pathReader: ((path: string) => OnnxModel) | null = null;

/** Installs the reader of ONNX files by path (the Node entry does: files, with external data beside them). */
export function setOnnxPathReader(reader: (path: string) => OnnxModel): void {
  pathReader = reader;
}

/** Decodes and checks an ONNX model; every failure is an OnnxError naming the file or node. */
export function loadOnnxModel(source: OnnxSource, label?: string): OnnxModel {
  if (typeof source === 'string') {
    if (!pathReader) throw new Error(`Graft: cannot read '${source}' by path here; pass the file's bytes (e.g. await graft.io.readBytes(url))`);
    return pathReader(source);
  }
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  const model = parseOnnx(bytes, label === undefined ? {} : { file: label });
  checkModel(model);
  return model;
}
