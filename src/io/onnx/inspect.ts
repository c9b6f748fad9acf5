// A summary of an ONNX file for `graft inspect`: interface, opset, producer, op counts, parameters and the ops the
// importer does not support.

import { foldConstants } from './fold.js';
import { graphStats, SUPPORTED_OPS, type UnsupportedNode } from './graph.js';
import type { Dim, OnnxOpsetImport, OnnxValueInfo } from './model.js';
import type { OnnxModel } from './model.js';

/** What inspectOnnx reports. */
export interface OnnxReport {
  /** The file inspected. */
  file: string;
  /** Its size in bytes (without external data). */
  fileBytes: number;
  /** IR version. */
  irVersion: number;
  /** Default-domain opset. */
  opset: number;
  /** All opset imports. */
  opsetImports: OnnxOpsetImport[];
  /** Exporter name and version. */
  producer: string;
  /** Graph inputs (initializers excluded), with symbolic dims as names. */
  inputs: OnnxValueInfo[];
  /** Graph outputs; shapes the file leaves unknown are filled in by shape inference where possible. */
  outputs: OnnxValueInfo[];
  /** Number of nodes. */
  nodeCount: number;
  /** Nodes that constant folding removes (shape arithmetic, Constant, Identity of weights). */
  foldableNodes: number;
  /** Node count per op type, most frequent first. */
  opCounts: [string, number][];
  /** Elements of the floating-point initializers the nodes use. */
  parameterCount: number;
  /** Number of initializers. */
  initializerCount: number;
  /** Nodes whose op the importer does not support, in file order. */
  unsupported: UnsupportedNode[];
}

/** Summarizes a checked ONNX model (`fileBytes`: the size of its file, for the report). */
export function inspectOnnxModel(model: OnnxModel, fileBytes: number, supported: ReadonlySet<string> = SUPPORTED_OPS): OnnxReport {
  const stats = graphStats(model, supported);
  const folded = foldConstants(model);
  const outputs = model.graph.outputs.map((o) => {
    const inferred = folded.shapes.get(o.name);
    return o.shape && !o.shape.includes(null) ? o : { ...o, shape: inferred ?? o.shape };
  });
  return {
    file: model.file,
    fileBytes,
    irVersion: model.irVersion,
    opset: model.opset,
    opsetImports: model.opsetImports,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' ') || 'unknown',
    inputs: model.graph.inputs,
    outputs,
    nodeCount: stats.nodeCount,
    foldableNodes: folded.foldedNodes,
    opCounts: stats.opCounts,
    parameterCount: stats.parameterCount,
    initializerCount: model.graph.initializers.size,
    unsupported: stats.unsupported,
  };
}

/** The report as aligned text lines. */
export function formatOnnxReport(r: OnnxReport): string {
  const shape = (s: Dim[] | null): string => (s ? `[${s.map((d) => d ?? '?').join(',')}]` : '[?]');
  const value = (v: OnnxValueInfo): string => `${v.name}: ${v.dtype ?? '?'} ${shape(v.shape)}`;
  const others = r.opsetImports.filter((o) => o.domain).map((o) => `${o.domain} ${o.version}`);
  const byOp = new Map<string, string[]>();
  for (const u of r.unsupported) {
    const key = u.domain ? `${u.domain}::${u.opType}` : u.opType;
    byOp.set(key, [...(byOp.get(key) ?? []), u.name]);
  }
  const unsupported = byOp.size === 0
    ? ['none']
    : [...byOp].map(([op, names]) => `${op} x${names.length}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}`);
  const rows: [string, string[]][] = [
    ['model', [`${r.file} (${(r.fileBytes / 1e6).toFixed(1)} MB)`]],
    ['producer', [`${r.producer}, IR ${r.irVersion}, opset ${r.opset}${others.length ? ` (+ ${others.join(', ')})` : ''}`]],
    ['inputs', r.inputs.map(value)],
    ['outputs', r.outputs.map(value)],
    ['nodes', [`${r.nodeCount} (${r.foldableNodes} fold away as constants)`]],
    ['parameters', [`${r.parameterCount.toLocaleString('en-US')} in ${r.initializerCount} initializers`]],
    ['ops', [r.opCounts.map(([op, n]) => `${op} ${n}`).join(', ')]],
    ['unsupported', unsupported],
  ];
  return rows.flatMap(([k, lines]) => lines.map((l, i) => `${(i === 0 ? k : '').padEnd(12)}${l}`)).join('\n');
}
