// Constant folding of the shape arithmetic exporters emit (Constant, Shape, Gather, Cast, Unsqueeze, Squeeze,
// Concat, Slice, Identity and small integer Add/Sub/Mul/Div), with the batch dimension kept symbolic.

import { NodeAttributes } from './attributes.js';
import { constToTensor, isIntegerDType, isNumeric, tensorToConst, type ConstValue } from './const-value.js';
import { OnnxError } from './errors.js';
import { topologicalOrder } from './graph.js';
import { type Dim, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from './model.js';
import { dtypeFromCode } from './proto.js';
import { inferShapes, type ShapeContext } from './shapes.js';

/** The graph after folding, ready for the importer. */
export interface FoldedGraph {
  /** The graph with folded nodes removed (in execution order); numeric results became initializers. */
  graph: OnnxGraph;
  /** Folded values holding symbolic dims (e.g. a Reshape target [N, -1]) that remaining nodes read. */
  symbolic: Map<string, ConstValue>;
  /** Inferred shapes of values (ONNX layout), where known. */
  shapes: Map<string, Dim[]>;
  /** Number of nodes removed by folding. */
  foldedNodes: number;
}

const FOLDABLE = new Set(['Constant', 'Shape', 'Gather', 'Cast', 'Unsqueeze', 'Squeeze', 'Concat', 'Slice', 'Identity', 'Add', 'Sub', 'Mul', 'Div']);

/** Folds constant subgraphs and infers static shapes, walking the nodes in topological order. */
export function foldConstants(model: OnnxModel): FoldedGraph {
  const { graph } = model;
  const tensors = new Map<string, OnnxTensor>(graph.initializers);
  const small = new Map<string, ConstValue>();
  const symbolic = new Map<string, ConstValue>();
  const shapes = new Map<string, Dim[]>();
  for (const v of [...graph.inputs, ...graph.valueInfo.values(), ...graph.outputs]) if (v.shape) shapes.set(v.name, v.shape);
  for (const [name, t] of tensors) shapes.set(name, t.dims);
  const ctx: ShapeContext = {
    file: model.file,
    opset: model.opset,
    shapeOf: (name) => shapes.get(name) ?? null,
    constOf: (name) => {
      const known = small.get(name) ?? symbolic.get(name);
      if (known) return known;
      const t = tensors.get(name);
      const c = t ? tensorToConst(t) : null;
      if (c) small.set(name, c);
      return c;
    },
  };
  const kept: OnnxNode[] = [];
  let foldedNodes = 0;
  for (const node of topologicalOrder(model)) {
    const alias = aliasedTensor(node, tensors, model.file);
    const value = node.domain || !FOLDABLE.has(node.opType) || alias ? null : evaluate(node, ctx);
    if (alias || value) {
      foldedNodes++;
      const out = node.outputs[0]!;
      if (alias) tensors.set(out, { ...alias, name: out });
      else if (isNumeric(value!)) tensors.set(out, constToTensor(out, value!));
      else symbolic.set(out, value!);
      shapes.set(out, alias ? alias.dims : value!.dims);
      continue;
    }
    kept.push(node);
    inferShapes(node, ctx).forEach((s, i) => {
      const out = node.outputs[i];
      if (s && out) shapes.set(out, s);
    });
  }
  const used = new Set([...kept.flatMap((n) => n.inputs), ...graph.outputs.map((o) => o.name)]);
  const initializers = new Map([...tensors].filter(([name]) => used.has(name)));
  return {
    graph: { ...graph, nodes: kept, initializers },
    symbolic: new Map([...symbolic].filter(([name]) => used.has(name))),
    shapes,
    foldedNodes,
  };
}

/** The tensor an Identity of an initializer or a Constant with a tensor value stands for (never copied). */
function aliasedTensor(node: OnnxNode, tensors: Map<string, OnnxTensor>, file: string): OnnxTensor | undefined {
  if (node.domain) return undefined;
  if (node.opType === 'Identity') return tensors.get(node.inputs[0] ?? '');
  if (node.opType === 'Constant') return new NodeAttributes(file, node).tensor('value');
  return undefined;
}

/** The node's single output as a constant, or null when its inputs are not all constant. */
function evaluate(node: OnnxNode, ctx: ShapeContext): ConstValue | null {
  const a = new NodeAttributes(ctx.file, node);
  if (node.opType === 'Constant') return constantValue(a);
  if (node.opType === 'Shape') {
    const s = ctx.shapeOf(node.inputs[0] ?? '');
    if (!s || s.some((d) => d === null)) return null;
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + s.length : v, 0), s.length);
    const dims = s.slice(clamp(a.int('start', 0)), clamp(a.int('end', s.length))) as (number | string)[];
    return { dtype: 'int64', dims: [dims.length], values: dims };
  }
  const inputs = node.inputs.map((name) => (name ? ctx.constOf(name) : null));
  if (inputs.some((v, i) => !v && node.inputs[i])) return null;
  const x = inputs[0];
  if (!x) return null;
  const fail = (problem: string): never => {
    throw new OnnxError({ file: ctx.file, node }, problem);
  };
  const ints = (i: number, attr: string, since: number): number[] | null => {
    if (ctx.opset < since) return a.has(attr) ? a.ints(attr) : null;
    const c = inputs[i];
    return c && isNumeric(c) ? (c.values as number[]) : null;
  };
  const axisOf = (v: number, rank: number): number => (v < 0 ? v + rank : v);
  switch (node.opType) {
    case 'Identity': return x;
    case 'Cast': {
      const to = dtypeFromCode(a.int('to')) ?? fail(`Cast to unknown type code ${a.int('to')}`);
      if (!isIntegerDType(to)) return isNumeric(x) ? { ...x, dtype: to } : null;
      return { ...x, dtype: to, values: x.values.map((v) => (typeof v === 'number' ? Math.trunc(v) : v)) };
    }
    case 'Unsqueeze': {
      const axes = ints(1, 'axes', 13);
      if (!axes) return null;
      const rank = x.dims.length + axes.length;
      const norm = axes.map((v) => axisOf(v, rank));
      const dims: number[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) dims.push(norm.includes(i) ? 1 : x.dims[j++]!);
      return { ...x, dims };
    }
    case 'Squeeze': {
      const axes = ints(1, 'axes', 13)?.map((v) => axisOf(v, x.dims.length));
      return { ...x, dims: x.dims.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)) };
    }
    case 'Concat': {
      const parts = inputs as ConstValue[];
      const axis = axisOf(a.int('axis'), x.dims.length);
      if (x.dims.length !== 1 || axis !== 0) return null;
      return { ...x, dims: [parts.reduce((s, p) => s + p.dims[0]!, 0)], values: parts.flatMap((p) => p.values) };
    }
    case 'Gather': {
      const idx = inputs[1]!;
      if (!isNumeric(idx) || x.dims.length !== 1 || a.int('axis', 0) !== 0) return null;
      const values = (idx.values as number[]).map((i) => {
        const j = i < 0 ? i + x.dims[0]! : i;
        return j >= 0 && j < x.dims[0]! ? x.values[j]! : fail(`Gather index ${i} is outside [0, ${x.dims[0]})`);
      });
      return { ...x, dims: idx.dims, values };
    }
    case 'Slice': return sliceValue(x, ctx.opset < 10 ? null : inputs.slice(1), a);
    default: return arithmetic(node.opType, inputs as ConstValue[]);
  }
}

function constantValue(a: NodeAttributes): ConstValue | null {
  if (a.has('value_float')) return { dtype: 'float32', dims: [], values: [a.float('value_float')] };
  if (a.has('value_floats')) { const v = a.floats('value_floats'); return { dtype: 'float32', dims: [v.length], values: v }; }
  if (a.has('value_int')) return { dtype: 'int64', dims: [], values: [a.int('value_int')] };
  if (a.has('value_ints')) { const v = a.ints('value_ints'); return { dtype: 'int64', dims: [v.length], values: v }; }
  return null;
}

function sliceValue(x: ConstValue, inputs: (ConstValue | null)[] | null, a: NodeAttributes): ConstValue | null {
  if (x.dims.length !== 1) return null;
  const get = (i: number, attr: string): number[] | null => {
    if (!inputs) return a.has(attr) ? a.ints(attr) : null;
    const c = inputs[i];
    return c && isNumeric(c) ? (c.values as number[]) : null;
  };
  const starts = get(0, 'starts');
  const ends = get(1, 'ends');
  const axes = get(2, 'axes') ?? [0];
  const steps = get(3, 'steps') ?? [1];
  if (!starts || !ends || axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1) || steps[0]! < 1) return null;
  const n = x.dims[0]!;
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const values: (number | string)[] = [];
  for (let i = clamp(starts[0]!); i < clamp(ends[0]!); i += steps[0]!) values.push(x.values[i]!);
  return { ...x, dims: [values.length], values };
}

function arithmetic(op: string, inputs: ConstValue[]): ConstValue | null {
  const [x, y] = inputs;
  if (!x || !y || !isNumeric(x) || !isNumeric(y) || !isIntegerDType(x.dtype)) return null;
  const n = Math.max(x.values.length, y.values.length);
  if ((x.values.length !== n && x.values.length !== 1) || (y.values.length !== n && y.values.length !== 1)) return null;
  const f = { Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q, Mul: (p: number, q: number) => p * q,
    Div: (p: number, q: number) => (q === 0 ? NaN : Math.trunc(p / q)) }[op as 'Add'];
  if (!f) return null;
  const values = Array.from({ length: n }, (_, i) => f(x.values[x.values.length === 1 ? 0 : i] as number, y.values[y.values.length === 1 ? 0 : i] as number));
  if (values.some((v) => !Number.isSafeInteger(v))) return null;
  return { dtype: x.dtype, dims: x.values.length === n ? x.dims : y.dims, values };
}
