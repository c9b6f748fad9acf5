// ONNX import: a Functional Graft model from an ONNX file.

export {
  importOnnxGraph, importedModelInfo, recordImportedModel, type ImportedGraph, type ImportOptions, type ImportedModelInfo, type ImportedTensor,
} from './importer.js';
export { OPS, type OpImporter } from './ops.js';
export { sanitizeName } from './context.js';
export { runImported, type HostArray, type RunImportedOptions } from './run.js';
