// The decoded, checked form of an ONNX model that graph analysis and the importer work on.

/** Element types of ONNX tensors (TensorProto.DataType), by their usual names. */
export type OnnxDType =
  | 'float32' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'int32' | 'int64' | 'string' | 'bool'
  | 'float16' | 'float64' | 'uint32' | 'uint64' | 'complex64' | 'complex128' | 'bfloat16';

/** A dimension: a size, a symbolic name (dim_param, e.g. 'N'), or null when the file leaves it unknown. */
export type Dim = number | string | null;

/**
 * Decoded tensor values: float32/float16/bfloat16 -> Float32Array, float64 -> Float64Array, int64/uint32/uint64 ->
 * Float64Array of exact integers, int32/int16/uint16 -> Int32Array, int8 -> Int8Array, uint8/bool -> Uint8Array.
 */
export type TensorValues = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array;

/** A constant tensor: an initializer, a Constant node's value, or a tensor attribute. */
export interface OnnxTensor {
  /** Its name (empty for unnamed attribute tensors). */
  name: string;
  /** The element type stored in the file (values are widened as described at TensorValues). */
  dtype: OnnxDType;
  /** Its shape; [] for a scalar. */
  dims: number[];
  /** Row-major values, dims.reduce(*) of them. */
  values: TensorValues;
}

/** Type and shape of a graph input, output or intermediate value. */
export interface OnnxValueInfo {
  /** The value's name. */
  name: string;
  /** Element type, or null when not a tensor type or not given. */
  dtype: OnnxDType | null;
  /** Dimensions, or null when the rank is unknown. */
  shape: Dim[] | null;
}

/** A sparse tensor attribute (values at coordinates of a dense shape). */
export interface OnnxSparseTensor {
  /** Non-default values. */
  values: OnnxTensor;
  /** Their coordinates: [NNZ] linear or [NNZ, rank] indices. */
  indices: OnnxTensor;
  /** The dense shape. */
  dims: number[];
}

/** A node attribute, tagged by its ONNX type. */
export type OnnxAttribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: OnnxTensor }
  | { type: 'graph'; value: OnnxGraph }
  | { type: 'sparse_tensor'; value: OnnxSparseTensor }
  | { type: 'type_proto'; value: OnnxValueInfo }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: OnnxTensor[] }
  | { type: 'graphs'; value: OnnxGraph[] }
  | { type: 'sparse_tensors'; value: OnnxSparseTensor[] }
  | { type: 'type_protos'; value: OnnxValueInfo[] };

/** One operator application. */
export interface OnnxNode {
  /** The node's name; the reader fills an empty name with `<opType>_<index>` so errors can name it. */
  name: string;
  /** Operator type, e.g. 'Conv'. */
  opType: string;
  /** Operator domain; '' for the default ONNX domain. */
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  /** Output value names; '' marks an omitted optional output. */
  outputs: string[];
  /** Attributes by name. */
  attributes: Map<string, OnnxAttribute>;
}

/** A computation graph. */
export interface OnnxGraph {
  /** The graph's name. */
  name: string;
  /** Real inputs (initializers listed as inputs by IR < 4 files are removed). */
  inputs: OnnxValueInfo[];
  /** Graph outputs. */
  outputs: OnnxValueInfo[];
  /** Type and shape annotations of intermediate values, by name. */
  valueInfo: Map<string, OnnxValueInfo>;
  /** Constant tensors by name. */
  initializers: Map<string, OnnxTensor>;
  /** Nodes in file order (see topologicalOrder in graph.ts for execution order). */
  nodes: OnnxNode[];
}

/** An operator set the model imports. */
export interface OnnxOpsetImport {
  /** '' for the default ONNX domain, else e.g. 'ai.onnx.ml' or 'com.microsoft'. */
  domain: string;
  /** Its version. */
  version: number;
}

/** A decoded ONNX model. */
export interface OnnxModel {
  /** Where it came from (the file path, or a label); used in error messages. */
  file: string;
  /** IR version of the file format. */
  irVersion: number;
  /** Opset version of the default ONNX domain. */
  opset: number;
  /** All opset imports. */
  opsetImports: OnnxOpsetImport[];
  /** Exporter name, e.g. 'pytorch' or 'tf2onnx'. */
  producerName: string;
  /** Exporter version. */
  producerVersion: string;
  /** The main graph. */
  graph: OnnxGraph;
}

/** Number of elements of a shape. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}
