// Node attributes: decoding from AttributeProto (all types) and typed access with the spec's defaults.

import { OnnxError } from './errors.js';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxSparseTensor, OnnxTensor, OnnxValueInfo } from './model.js';
import { int64ToNumber, onnx, type Int64Like, type ProtoAttribute, type ProtoGraph, type ProtoSparseTensor, type ProtoType } from './proto.js';
import { decodeTensor, type TensorContext } from './tensor-data.js';

/** What attribute decoding needs: tensor context plus the decoders it must call back into. */
export interface AttributeContext extends TensorContext {
  /** Node the attribute belongs to. */
  node: { name: string; opType: string };
  /** Decodes a subgraph (If/Loop bodies). */
  decodeGraph(g: ProtoGraph): OnnxGraph;
  /** Decodes a TypeProto into name-less value info. */
  decodeType(t: ProtoType | null | undefined, name: string): OnnxValueInfo;
}

const T = onnx.AttributeProto.AttributeType;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Decodes one attribute; the type is inferred from the set field when an old file leaves it UNDEFINED. */
export function decodeAttribute(a: ProtoAttribute, ctx: AttributeContext): [string, OnnxAttribute] {
  const name = a.name ?? '';
  const fail = (problem: string): never => {
    throw new OnnxError({ file: ctx.file, node: ctx.node }, `attribute '${name}' ${problem}`);
  };
  const int = (v: Int64Like | null | undefined): number => {
    const n = int64ToNumber(v);
    return n === null ? fail(`holds an integer outside ±2^53: ${String(v)}`) : n;
  };
  const tensor = (t: Parameters<typeof decodeTensor>[0], i = 0): OnnxTensor => decodeTensor(t, ctx, `${name}[${i}]`);
  const sparse = (s: ProtoSparseTensor, i = 0): OnnxSparseTensor => {
    if (!s.values || !s.indices) fail('is a sparse tensor without values or indices');
    return { values: tensor(s.values!, i), indices: tensor(s.indices!, i), dims: (s.dims ?? []).map((d) => int(d as Int64Like)) };
  };
  const type = a.type || inferType(a);
  switch (type) {
    case T.FLOAT: return [name, { type: 'float', value: a.f ?? 0 }];
    case T.INT: return [name, { type: 'int', value: int(a.i as Int64Like) }];
    case T.STRING: return [name, { type: 'string', value: utf8.decode(a.s ?? new Uint8Array()) }];
    case T.TENSOR: return [name, { type: 'tensor', value: a.t ? tensor(a.t) : fail('has no tensor') }];
    case T.GRAPH: return [name, { type: 'graph', value: a.g ? ctx.decodeGraph(a.g) : fail('has no graph') }];
    case T.SPARSE_TENSOR: return [name, { type: 'sparse_tensor', value: a.sparseTensor ? sparse(a.sparseTensor) : fail('has no sparse tensor') }];
    case T.TYPE_PROTO: return [name, { type: 'type_proto', value: ctx.decodeType(a.tp, name) }];
    case T.FLOATS: return [name, { type: 'floats', value: [...(a.floats ?? [])] }];
    case T.INTS: return [name, { type: 'ints', value: (a.ints ?? []).map((v) => int(v as Int64Like)) }];
    case T.STRINGS: return [name, { type: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) }];
    case T.TENSORS: return [name, { type: 'tensors', value: (a.tensors ?? []).map((t, i) => tensor(t, i)) }];
    case T.GRAPHS: return [name, { type: 'graphs', value: (a.graphs ?? []).map((g) => ctx.decodeGraph(g)) }];
    case T.SPARSE_TENSORS: return [name, { type: 'sparse_tensors', value: (a.sparseTensors ?? []).map((s, i) => sparse(s, i)) }];
    case T.TYPE_PROTOS: return [name, { type: 'type_protos', value: (a.typeProtos ?? []).map((tp) => ctx.decodeType(tp, name)) }];
    default: return fail(`has an unknown type code ${String(a.type)}`);
  }
}

function inferType(a: ProtoAttribute): number {
  if (a.floats?.length) return T.FLOATS;
  if (a.ints?.length) return T.INTS;
  if (a.strings?.length) return T.STRINGS;
  if (a.tensors?.length) return T.TENSORS;
  if (a.graphs?.length) return T.GRAPHS;
  if (a.t) return T.TENSOR;
  if (a.g) return T.GRAPH;
  if (a.s?.length) return T.STRING;
  // NOTE: protobufjs puts field defaults on the prototype, so presence is an own property.
  if (Object.hasOwn(a, 'i')) return T.INT;
  return T.FLOAT;
}

/** Typed access to a node's attributes; a present attribute of the wrong type is an error naming the node. */
export class NodeAttributes {
  constructor(
    /** The model file, for error messages. */
    readonly file: string,
    /** The node whose attributes are read. */
    readonly node: OnnxNode,
  ) {}

  /** True when the attribute is present. */
  has(name: string): boolean {
    return this.node.attributes.has(name);
  }

  int(name: string, fallback?: number): number {
    const a = this.raw(name, 'int');
    return a?.type === 'int' ? a.value : this.fallback(name, fallback);
  }

  ints(name: string, fallback?: number[]): number[] {
    const a = this.raw(name, 'ints');
    return a?.type === 'ints' ? a.value : this.fallback(name, fallback);
  }

  float(name: string, fallback?: number): number {
    // NOTE: some exporters write float attributes (alpha, epsilon) as ints; accept them.
    const a = this.node.attributes.get(name);
    if (a?.type === 'int') return a.value;
    const f = this.raw(name, 'float');
    return f?.type === 'float' ? f.value : this.fallback(name, fallback);
  }

  floats(name: string, fallback?: number[]): number[] {
    const a = this.raw(name, 'floats');
    return a?.type === 'floats' ? a.value : this.fallback(name, fallback);
  }

  string(name: string, fallback?: string): string {
    const a = this.raw(name, 'string');
    return a?.type === 'string' ? a.value : this.fallback(name, fallback);
  }

  tensor(name: string): OnnxTensor | undefined {
    const a = this.raw(name, 'tensor');
    return a?.type === 'tensor' ? a.value : undefined;
  }

  /** The attribute if present; an error naming the node when it has another type. */
  private raw(name: string, type: OnnxAttribute['type']): OnnxAttribute | undefined {
    const a = this.node.attributes.get(name);
    if (a && a.type !== type) {
      throw new OnnxError({ file: this.file, node: this.node }, `attribute '${name}' should be of type ${type}, got ${a.type}`);
    }
    return a;
  }

  private fallback<V>(name: string, fallback: V | undefined): V {
    if (fallback === undefined) throw new OnnxError({ file: this.file, node: this.node }, `missing required attribute '${name}'`);
    return fallback;
  }
}
