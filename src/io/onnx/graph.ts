// Graph analysis: execution order with cycle detection, dangling-input checks, op counts, parameter counts and the
// ops the importer does not support.

import { OnnxError } from './errors.js';
import { elementCount, type OnnxModel, type OnnxNode } from './model.js';

/** ONNX ops (default domain) the importer maps onto Graft layers. */
export const SUPPORTED_OPS: ReadonlySet<string> = new Set([
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Mul', 'Add', 'Sub',
  'Div', 'Gemm', 'MatMul', 'GlobalAveragePool', 'AveragePool', 'MaxPool', 'ReduceMean', 'Flatten', 'Reshape',
  'Transpose', 'Pad', 'Squeeze', 'Unsqueeze', 'Concat', 'Softmax', 'Identity', 'Dropout', 'Constant', 'Shape',
  'Gather', 'Cast',
]);

/**
 * Nodes in an order where every node comes after the producers of its inputs (Kahn's algorithm; ties keep file
 * order, so an already sorted file comes back unchanged). Throws an OnnxError naming a node on a cycle.
 */
export function topologicalOrder(model: OnnxModel): OnnxNode[] {
  const { nodes } = model.graph;
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => { if (o) producer.set(o, i); }));
  const pending = new Array<number>(nodes.length).fill(0);
  const consumers: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const input of new Set(n.inputs)) {
      const p = input ? producer.get(input) : undefined;
      if (p === undefined) continue;
      pending[i]! += 1;
      consumers[p]!.push(i);
    }
  });
  const ready = new MinHeap();
  pending.forEach((c, i) => { if (c === 0) ready.push(i); });
  const order: OnnxNode[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(nodes[i]!);
    for (const c of consumers[i]!) if (--pending[c]! === 0) ready.push(c);
  }
  if (order.length < nodes.length) {
    const onCycle = findCycleNode(nodes, producer, pending);
    throw new OnnxError({ file: model.file, node: onCycle }, 'is on a cycle: the graph is not a DAG');
  }
  return order;
}

/** A binary min-heap of node indices (the smallest ready index runs first). */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(v: number): void {
    const a = this.items;
    a.push(v);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length === 0) return top;
    a[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]! < a[m]!) m = l;
      if (r < a.length && a[r]! < a[m]!) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
    return top;
  }
}

/** Follows unfinished producers from an unfinished node until a node repeats: that node lies on a cycle. */
function findCycleNode(nodes: OnnxNode[], producer: Map<string, number>, pending: number[]): OnnxNode {
  let i = pending.findIndex((c) => c > 0);
  const seen = new Set<number>();
  while (!seen.has(i)) {
    seen.add(i);
    const next = nodes[i]!.inputs.map((x) => producer.get(x)).find((p) => p !== undefined && pending[p]! > 0);
    if (next === undefined) break;
    i = next;
  }
  return nodes[i]!;
}

/**
 * Checks that every node input is a graph input, an initializer or another node's output, and that every graph
 * output is produced. Throws an OnnxError naming the node and the missing value.
 */
export function checkGraphInputs(model: OnnxModel): void {
  const { graph } = model;
  const known = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.initializers.keys()]);
  const producedBy = new Map<string, OnnxNode>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) {
      if (!o) continue;
      const other = producedBy.get(o) ?? (known.has(o) ? null : undefined);
      if (other !== undefined) {
        const what = other ? `node '${other.name}'` : 'a graph input or initializer';
        throw new OnnxError({ file: model.file, node: n }, `output '${o}' is also produced by ${what}`);
      }
      producedBy.set(o, n);
    }
  }
  for (const n of graph.nodes) {
    for (const input of n.inputs) {
      if (input && !known.has(input) && !producedBy.has(input)) {
        throw new OnnxError(
          { file: model.file, node: n },
          `input '${input}' is neither a graph input, an initializer nor the output of a node (missing initializer?)`,
        );
      }
    }
  }
  for (const out of graph.outputs) {
    if (!known.has(out.name) && !producedBy.has(out.name)) {
      throw new OnnxError({ file: model.file, tensor: out.name }, 'is a graph output that no node produces');
    }
  }
}

/** One node of an op the importer does not support. */
export interface UnsupportedNode {
  /** Node name. */
  name: string;
  /** Operator type. */
  opType: string;
  /** Operator domain ('' for default ONNX). */
  domain: string;
}

/** Summary numbers of a graph. */
export interface GraphStats {
  /** Node count per op type (custom domains as 'domain::Op'), sorted by count then name. */
  opCounts: [string, number][];
  /** Number of nodes. */
  nodeCount: number;
  /** Elements of the floating-point initializers that nodes use (weights, biases, BN statistics). */
  parameterCount: number;
  /** Nodes whose op is outside the supported set (or in another domain), in file order. */
  unsupported: UnsupportedNode[];
}

/** Counts ops and parameters and lists unsupported nodes. */
export function graphStats(model: OnnxModel, supported: ReadonlySet<string> = SUPPORTED_OPS): GraphStats {
  const { graph } = model;
  const counts = new Map<string, number>();
  const used = new Set<string>();
  const unsupported: UnsupportedNode[] = [];
  for (const n of graph.nodes) {
    const key = n.domain ? `${n.domain}::${n.opType}` : n.opType;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    n.inputs.forEach((i) => used.add(i));
    if (n.domain || !supported.has(n.opType)) unsupported.push({ name: n.name, opType: n.opType, domain: n.domain });
  }
  let parameterCount = 0;
  for (const [name, t] of graph.initializers) {
    if (used.has(name) && isFloat(t.dtype)) parameterCount += elementCount(t.dims);
  }
  const opCounts = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { opCounts, nodeCount: graph.nodes.length, parameterCount, unsupported };
}

function isFloat(dtype: string): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'float64' || dtype === 'bfloat16';
}
