// graft.io: bytes in and out — sources (paths, URLs, Blobs), safetensors, ONNX, NumPy .npy, TensorBoard events.

export { readBytes, sourceLabel, type ByteSource, type ReadBytesOptions } from '../io/bytes.js';
export {
  encodeSafetensors, decodeSafetensors, readSafetensors, writeSafetensors, saveTensors, loadTensors,
  type SafetensorsEntry, type SafetensorsFile, type LoadedTensor, type SafetensorsDType,
} from '../io/safetensors.js';
export { parseNpy, encodeNpy, writeNpy, npyToFloat32, NpyError, type NpyArray, type NpyDType } from '../io/npy.js';
export { EventWriter, parseEvents, scalarsOf, type EventWriterOptions, type TbEvent } from '../io/tensorboard/index.js';
export { exportOnnx, exportOnnxBytes, type ExportOptions } from '../io/onnx/export.js';
export { importedModelInfo, runImported, type ImportOptions, type ImportedModelInfo, type HostArray } from '../io/onnx/import/index.js';
export * as onnx from '../io/onnx/index.js';
