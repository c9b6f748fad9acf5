// Building and encoding ONNX ModelProto files (used by the fixture tools and model export).

import type { Dim, OnnxAttribute, OnnxDType, OnnxOpsetImport } from './model.js';
import { DTYPE_CODES, onnx, type ProtoAttribute, type ProtoGraph, type ProtoNode, type ProtoTensor, type ProtoValueInfo } from './proto.js';

/** Attributes a writer node may carry (subgraphs and sparse/type attributes are not written). */
export type WritableAttribute = Extract<OnnxAttribute, { type: 'float' | 'int' | 'string' | 'floats' | 'ints' | 'strings' }>;

/** Attribute constructors: `{ group: int(32), pads: ints([1, 1, 1, 1]) }`. */
export const int = (value: number): WritableAttribute => ({ type: 'int', value });
export const ints = (value: number[]): WritableAttribute => ({ type: 'ints', value });
export const float = (value: number): WritableAttribute => ({ type: 'float', value });
export const floats = (value: number[]): WritableAttribute => ({ type: 'floats', value });
export const str = (value: string): WritableAttribute => ({ type: 'string', value });

/** Options of encodeModel. */
export interface ModelOptions {
  /** Opset imports; the default ONNX domain must be among them. */
  opsets: OnnxOpsetImport[];
  /** IR version; 8 (ONNX 1.10) unless given. */
  irVersion?: number;
  /** Exporter name written to producer_name. */
  producerName?: string;
  /** Exporter version. */
  producerVersion?: string;
}

const T = onnx.AttributeProto.AttributeType;
const utf8 = new TextEncoder();

/** Accumulates a graph: inputs, outputs, initializers and nodes, in the order added. */
export class GraphBuilder {
  private readonly inputs: ProtoValueInfo[] = [];
  private readonly outputs: ProtoValueInfo[] = [];
  private readonly initializers: ProtoTensor[] = [];
  private readonly nodes: ProtoNode[] = [];
  private readonly names = new Set<string>();

  constructor(
    /** The graph's name. */
    readonly name: string,
  ) {}

  /** Declares a graph input; string dims are symbolic (dim_param), e.g. ['N', 3, 224, 224]. */
  input(name: string, dtype: OnnxDType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Declares a graph output. */
  output(name: string, dtype: OnnxDType, shape: Dim[]): string {
    this.outputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Adds a float32 initializer stored as raw_data; returns its name. */
  floatInit(name: string, dims: number[], values: Float32Array): string {
    if (values.length !== dims.reduce((p, d) => p * d, 1)) {
      throw new Error(`Graft ONNX writer: initializer '${name}' has ${values.length} values for dims [${dims.join(',')}]`);
    }
    const rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.initializers.push({ name, dims, dataType: DTYPE_CODES.float32, rawData });
    return name;
  }

  /** Adds an int64 initializer (shapes, axes, pads) stored in int64_data; returns its name. */
  int64Init(name: string, dims: number[], values: number[]): string {
    this.initializers.push({ name, dims, dataType: DTYPE_CODES.int64, int64Data: values });
    return name;
  }

  /** Adds a TensorProto as given (other dtypes, typed fields, external data references); returns its name. */
  tensorProto(t: ProtoTensor): string {
    this.initializers.push(t);
    return t.name ?? '';
  }

  /** Adds a node; returns its outputs. The node name must be unique. */
  node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, WritableAttribute> = {}, name?: string): string[] {
    const nodeName = name ?? `${opType}_${this.nodes.length}`;
    if (this.names.has(nodeName)) throw new Error(`Graft ONNX writer: node name '${nodeName}' is used twice`);
    this.names.add(nodeName);
    const attribute = Object.entries(attributes).map(([n, a]) => encodeAttribute(n, a));
    this.nodes.push({ name: nodeName, opType, input: inputs, output: outputs, attribute });
    return outputs;
  }

  /** The GraphProto built so far. */
  toProto(): ProtoGraph {
    return { name: this.name, input: this.inputs, output: this.outputs, initializer: this.initializers, node: this.nodes };
  }
}

/** Encodes a graph as ONNX model bytes. */
export function encodeModel(graph: GraphBuilder, options: ModelOptions): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: options.irVersion ?? 8,
    producerName: options.producerName ?? 'graft',
    producerVersion: options.producerVersion ?? '',
    opsetImport: options.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    graph: graph.toProto(),
  });
  return onnx.ModelProto.encode(model).finish();
}

function valueInfo(name: string, dtype: OnnxDType, shape: Dim[]): ProtoValueInfo {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {}));
  return { name, type: { tensorType: { elemType: DTYPE_CODES[dtype], shape: { dim } } } };
}

function encodeAttribute(name: string, a: WritableAttribute): ProtoAttribute {
  switch (a.type) {
    case 'float': return { name, type: T.FLOAT, f: a.value };
    case 'int': return { name, type: T.INT, i: a.value };
    case 'string': return { name, type: T.STRING, s: utf8.encode(a.value) };
    case 'floats': return { name, type: T.FLOATS, floats: a.value };
    case 'ints': return { name, type: T.INTS, ints: a.value };
    case 'strings': return { name, type: T.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
  }
}
