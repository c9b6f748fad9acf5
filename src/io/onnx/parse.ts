// Decoding of ONNX model bytes into the checked OnnxModel form (no file system access: usable in the browser).

import { decodeAttribute, type AttributeContext } from './attributes.js';
import { OnnxError } from './errors.js';
import type { Dim, OnnxGraph, OnnxModel, OnnxNode, OnnxOpsetImport, OnnxTensor, OnnxValueInfo } from './model.js';
import { dtypeFromCode, int64ToNumber, onnx, type Int64Like, type ProtoGraph, type ProtoModel, type ProtoType, type ProtoValueInfo } from './proto.js';
import { decodeTensor, type ExternalDataSource } from './tensor-data.js';

/** Oldest and newest default-domain opset the reader accepts. */
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;
const MAX_SUBGRAPH_DEPTH = 16;

/** Options of parseOnnx. */
export interface ParseOptions {
  /** Name used in error messages (the file path); defaults to '<bytes>'. */
  file?: string;
  /** Where tensors with data_location EXTERNAL are read from; without one they are an error. */
  external?: ExternalDataSource | null;
}

/** Decodes and checks ONNX model bytes. Errors are OnnxError instances naming the file and the culprit. */
export function parseOnnx(bytes: Uint8Array, options: ParseOptions = {}): OnnxModel {
  const file = options.file ?? '<bytes>';
  const fail = (problem: string): never => {
    throw new OnnxError({ file }, problem);
  };
  if (bytes.length === 0) fail('is empty (0 bytes)');
  let proto: ProtoModel;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    return fail(`is not a valid ONNX protobuf (truncated or corrupt, ${bytes.length} bytes): ${(e as Error).message}`);
  }
  const irVersion = int64ToNumber(proto.irVersion as Int64Like) ?? 0;
  if (!proto.graph) fail(`has no graph (not an ONNX model? IR version ${irVersion})`);
  const opsetImports: OnnxOpsetImport[] = (proto.opsetImport ?? []).map((o) => ({
    domain: o.domain === 'ai.onnx' ? '' : (o.domain ?? ''),
    version: int64ToNumber(o.version as Int64Like) ?? -1,
  }));
  const main = opsetImports.find((o) => o.domain === '');
  if (!main) fail(`declares no opset for the default ONNX domain (IR version ${irVersion}); opsets ${MIN_OPSET} to ${MAX_OPSET} are supported`);
  const opset = (main as OnnxOpsetImport).version;
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    fail(`uses opset ${opset} of the default ONNX domain; opsets ${MIN_OPSET} to ${MAX_OPSET} are supported`);
  }
  const decoder = new GraphDecoder(file, options.external ?? null);
  const graph = decoder.graph(proto.graph as ProtoGraph, 0);
  if (irVersion < 4) graph.inputs = graph.inputs.filter((i) => !graph.initializers.has(i.name));
  return {
    file, irVersion, opset, opsetImports, graph,
    producerName: proto.producerName ?? '', producerVersion: proto.producerVersion ?? '',
  };
}

class GraphDecoder {
  constructor(private readonly file: string, private readonly external: ExternalDataSource | null) {}

  graph(g: ProtoGraph, depth: number): OnnxGraph {
    if (depth > MAX_SUBGRAPH_DEPTH) throw new OnnxError({ file: this.file }, `nests subgraphs deeper than ${MAX_SUBGRAPH_DEPTH}`);
    if (g.sparseInitializer?.length) {
      throw new OnnxError({ file: this.file, tensor: g.sparseInitializer[0]?.values?.name ?? '' }, 'sparse initializers are not supported');
    }
    const initializers = new Map<string, OnnxTensor>();
    for (const t of g.initializer ?? []) {
      const tensor = decodeTensor(t, { file: this.file, external: this.external });
      if (initializers.has(tensor.name)) throw new OnnxError({ file: this.file, tensor: tensor.name }, 'is defined twice as an initializer');
      initializers.set(tensor.name, tensor);
    }
    const nodes = (g.node ?? []).map((n, index): OnnxNode => {
      const opType = n.opType ?? '';
      const node: OnnxNode = {
        name: n.name || `${opType || 'node'}_${index}`, opType,
        domain: n.domain === 'ai.onnx' ? '' : (n.domain ?? ''),
        inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attributes: new Map(),
      };
      if (!opType) throw new OnnxError({ file: this.file, node }, 'has no op_type');
      const ctx: AttributeContext = {
        file: this.file, external: this.external, node,
        decodeGraph: (sub) => this.graph(sub, depth + 1),
        decodeType: (t, name) => this.valueInfo(name, t),
      };
      for (const a of n.attribute ?? []) {
        const [name, value] = decodeAttribute(a, ctx);
        node.attributes.set(name, value);
      }
      return node;
    });
    const info = (v: ProtoValueInfo): OnnxValueInfo => this.valueInfo(v.name ?? '', v.type);
    return {
      name: g.name ?? '',
      inputs: (g.input ?? []).map(info),
      outputs: (g.output ?? []).map(info),
      valueInfo: new Map((g.valueInfo ?? []).map((v) => [v.name ?? '', info(v)])),
      initializers,
      nodes,
    };
  }

  valueInfo(name: string, type: ProtoType | null | undefined): OnnxValueInfo {
    const tt = type?.tensorType;
    if (!tt) return { name, dtype: null, shape: null };
    const shape = tt.shape
      ? (tt.shape.dim ?? []).map((d): Dim => {
        if (d.dimParam) return d.dimParam;
        // NOTE: protobufjs puts field defaults on the prototype; an unset dim_value is not an own property.
        if (!Object.hasOwn(d, 'dimValue') || d.dimValue === null) return null;
        const n = int64ToNumber(d.dimValue as Int64Like);
        if (n === null || n < 0) throw new OnnxError({ file: this.file, tensor: name }, `has an invalid dimension ${String(d.dimValue)}`);
        return n;
      })
      : null;
    return { name, dtype: dtypeFromCode(tt.elemType), shape };
  }
}
