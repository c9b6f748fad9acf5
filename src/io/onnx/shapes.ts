// Static shape inference (ONNX layout, NCHW) for the supported ops, with symbolic dims carried through.

import { NodeAttributes } from './attributes.js';
import type { ConstValue } from './const-value.js';
import { OnnxError } from './errors.js';
import type { Dim, OnnxNode } from './model.js';

/** What shape inference can look up about a node's inputs. */
export interface ShapeContext {
  /** The model file, for error messages. */
  file: string;
  /** Default-domain opset of the model (attributes moved to inputs across opsets). */
  opset: number;
  /** Shape of a value, or null when unknown. */
  shapeOf(name: string): Dim[] | null;
  /** Constant value of a (small) value, or null when not constant. */
  constOf(name: string): ConstValue | null;
}

const SAME_SHAPE = new Set([
  'Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Identity', 'Dropout', 'Cast', 'Softmax',
  'BatchNormalization', 'LeakyRelu', 'Elu', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Erf', 'Reciprocal', 'LogSoftmax',
]);
const INT_DTYPES: ReadonlySet<string> = new Set(['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16', 'uint32', 'uint64']);
const BROADCAST = new Set(['Mul', 'Add', 'Sub', 'Div', 'Pow', 'Max', 'Min', 'Equal', 'Less', 'Greater', 'Where']);

/** Output shapes of a node (one per output; null where unknown). */
export function inferShapes(node: OnnxNode, ctx: ShapeContext): (Dim[] | null)[] {
  const first = inferFirst(node, ctx);
  return node.outputs.map((_, i) => (i === 0 ? first : null));
}

function inferFirst(node: OnnxNode, ctx: ShapeContext): Dim[] | null {
  const a = new NodeAttributes(ctx.file, node);
  const inShape = (i: number): Dim[] | null => (node.inputs[i] ? ctx.shapeOf(node.inputs[i]!) : null);
  const inConst = (i: number): ConstValue | null => (node.inputs[i] ? ctx.constOf(node.inputs[i]!) : null);
  // NOTE: shape-like inputs (Reshape's shape, pads, axes) must be integer tensors: a float weight wired there by a
  // broken file would otherwise become fractional dims.
  const intConst = (i: number, what: string): ConstValue | null => {
    const c = inConst(i);
    if (c && (!INT_DTYPES.has(c.dtype) || c.values.some((v) => typeof v === 'number' && !Number.isSafeInteger(v)))) {
      throw new OnnxError({ file: ctx.file, node }, `${what} (input ${i}, '${node.inputs[i]}') must be an integer tensor (int64), got ${c.dtype}`);
    }
    return c;
  };
  const ints = (i: number, attr: string, sinceOpset: number): number[] | null => {
    if (ctx.opset < sinceOpset) return a.has(attr) ? a.ints(attr) : null;
    const c = intConst(i, attr);
    return c && c.values.every((v) => typeof v === 'number') ? (c.values as number[]) : null;
  };
  const x = inShape(0);
  if (SAME_SHAPE.has(node.opType)) return x;
  if (BROADCAST.has(node.opType)) return broadcast(node.inputs.map((_, i) => inShape(i)));
  if (!x) return null;
  const axis = (v: number, rank: number): number => (v < 0 ? v + rank : v);
  switch (node.opType) {
    case 'Conv': return convShape(x, inShape(1), a, true);
    case 'MaxPool': case 'AveragePool': return convShape(x, null, a, false);
    case 'GlobalAveragePool': case 'GlobalMaxPool': return [x[0]!, x[1]!, ...x.slice(2).map(() => 1)];
    case 'Gemm': {
      const b = inShape(1);
      if (!b || x.length !== 2 || b.length !== 2) return null;
      return [a.int('transA', 0) ? x[1]! : x[0]!, a.int('transB', 0) ? b[0]! : b[1]!];
    }
    case 'MatMul': {
      const b = inShape(1);
      if (!b || x.length < 2 || b.length < 2) return null;
      const batch = broadcast([x.slice(0, -2), b.slice(0, -2)]);
      return batch ? [...batch, x[x.length - 2]!, b[b.length - 1]!] : null;
    }
    case 'ReduceMean': {
      const axes = (ints(1, 'axes', 18) ?? x.map((_, i) => i)).map((v) => axis(v, x.length));
      const keep = a.int('keepdims', 1) === 1;
      return x.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
    }
    case 'Flatten': {
      const k = axis(a.int('axis', 1), x.length);
      return [product(x.slice(0, k)), product(x.slice(k))];
    }
    case 'Reshape': return reshapeShape(x, intConst(1, 'shape'), a.int('allowzero', 0) === 1);
    case 'Transpose': {
      const perm = a.ints('perm', x.map((_, i) => x.length - 1 - i));
      return perm.map((p) => x[p] ?? null);
    }
    case 'Pad': {
      const pads = ints(1, 'pads', 11);
      if (!pads || pads.length !== 2 * x.length) return null;
      return x.map((d, i) => (typeof d === 'number' ? d + pads[i]! + pads[i + x.length]! : d));
    }
    case 'Squeeze': {
      const axes = ints(1, 'axes', 13)?.map((v) => axis(v, x.length));
      return x.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
    }
    case 'Unsqueeze': {
      const axes = ints(1, 'axes', 13);
      if (!axes) return null;
      const rank = x.length + axes.length;
      const norm = axes.map((v) => axis(v, rank));
      const out: Dim[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : (x[j++] ?? null));
      return out;
    }
    case 'Concat': {
      const shapes = node.inputs.map((_, i) => inShape(i));
      if (shapes.some((s) => !s)) return null;
      const k = axis(a.int('axis'), x.length);
      return x.map((d, i) => (i === k ? sumDims(shapes.map((s) => s![k] ?? null)) : d));
    }
    case 'Gather': {
      const idx = inShape(1);
      if (!idx) return null;
      const k = axis(a.int('axis', 0), x.length);
      return [...x.slice(0, k), ...idx, ...x.slice(k + 1)];
    }
    case 'Shape': return [x.length];
    default: return null;
  }
}

function convShape(x: Dim[], w: Dim[] | null, a: NodeAttributes, isConv: boolean): Dim[] | null {
  const spatial = x.length - 2;
  const kernel = a.has('kernel_shape') ? a.ints('kernel_shape') : w ? w.slice(2) : null;
  if (!kernel || kernel.length !== spatial || kernel.some((k) => typeof k !== 'number')) return null;
  const strides = a.ints('strides', kernel.map(() => 1));
  const dil = a.ints('dilations', kernel.map(() => 1));
  const pads = a.ints('pads', kernel.map(() => 0).concat(kernel.map(() => 0)));
  const autoPad = a.string('auto_pad', 'NOTSET');
  const ceil = !isConv && a.int('ceil_mode', 0) === 1;
  const channels = isConv ? (w?.[0] ?? null) : x[1]!;
  const out: Dim[] = [x[0]!, channels];
  for (let i = 0; i < spatial; i++) {
    const d = x[i + 2]!;
    if (typeof d !== 'number') { out.push(null); continue; }
    const s = strides[i]!;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') { out.push(Math.ceil(d / s)); continue; }
    const k = ((kernel[i] as number) - 1) * dil[i]! + 1;
    const span = autoPad === 'VALID' ? d - k : d + pads[i]! + pads[i + spatial]! - k;
    out.push((ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1);
  }
  return out;
}

function reshapeShape(x: Dim[], target: ConstValue | null, allowZero: boolean): Dim[] | null {
  if (!target) return null;
  const out: Dim[] = target.values.map((v, i) => (v === 0 && !allowZero ? (x[i] ?? null) : v));
  const minus = out.indexOf(-1);
  if (minus < 0) return out;
  out[minus] = divideDims(x, out.filter((_, i) => i !== minus));
  return out;
}

/** product(total) / product(part) with symbols cancelled; null when unknown or not exact. */
function divideDims(total: Dim[], part: Dim[]): Dim {
  if (total.includes(null) || part.includes(null)) return null;
  const syms = total.filter((d): d is string => typeof d === 'string');
  let n = total.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  for (const d of part) {
    if (typeof d === 'number') {
      if (d === 0 || n % d !== 0) return null;
      n /= d;
    } else if (d !== null) {
      const j = syms.indexOf(d);
      if (j < 0) return null;
      syms.splice(j, 1);
    }
  }
  return syms.length ? product([n, ...syms]) : n;
}

/** Product of dims: a number when all are known numbers, else a symbolic 'a*b' (numbers first) or null. */
function product(dims: Dim[]): Dim {
  if (dims.some((d) => d === null)) return null;
  const n = dims.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  const syms = dims.filter((d): d is string => typeof d === 'string');
  if (!syms.length) return n;
  return n === 1 ? syms.join('*') : `${n}*${syms.join('*')}`;
}

function sumDims(dims: Dim[]): Dim {
  return dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((s, d) => s + d, 0) : null;
}

/** Numpy-style broadcast of shapes; null when any is unknown. */
export function broadcast(shapes: (Dim[] | null)[]): Dim[] | null {
  if (shapes.some((s) => !s)) return null;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const e = s![s!.length - rank + i] ?? 1;
      if (e === 1) continue;
      if (d === 1 || d === null) d = e;
      else if (typeof d === 'string' && typeof e === 'number') d = e;
    }
    out.push(d);
  }
  return out;
}
