// Float64 reference for unary and broadcasting binary ops.

import { mapRef, ravel, refZeros, unravel, type RefTensor } from './tensor.js';

const sig = (x: number) => 1 / (1 + Math.exp(-x));

/** Reference unary functions by op name (alpha/beta as in the ops). */
export const refUnary: Record<string, (x: number, a: number, b: number) => number> = {
  neg: (x) => -x,
  exp: (x) => Math.exp(x),
  log: (x) => Math.log(x),
  sqrt: (x) => Math.sqrt(x),
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: (x) => Math.abs(x),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  pow: (x, a) => Math.pow(x, a),
  relu: (x) => Math.max(x, 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  sigmoid: sig,
  tanh: (x) => Math.tanh(x),
  silu: (x) => x * sig(x),
  clip: (x, a, b) => Math.min(Math.max(x, a), b),
  affine: (x, a, b) => x * a + b,
  hardSigmoid: (x, a, b) => Math.min(Math.max(a * x + b, 0), 1),
  hardSwish: (x) => x * Math.min(Math.max(x / 6 + 0.5, 0), 1),
};

export function unaryRef(x: RefTensor, op: string, a = 0, b = 0): RefTensor {
  const f = refUnary[op];
  if (!f) throw new Error(`reference: no unary ${op}`);
  return mapRef(x, (v) => f(v, a, b));
}

/** Reference binary functions by op name. */
export const refBinary: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  squaredDifference: (a, b) => (a - b) * (a - b),
  equal: (a, b) => (a === b ? 1 : 0),
  notEqual: (a, b) => (a !== b ? 1 : 0),
  less: (a, b) => (a < b ? 1 : 0),
  lessEqual: (a, b) => (a <= b ? 1 : 0),
  greater: (a, b) => (a > b ? 1 : 0),
  greaterEqual: (a, b) => (a >= b ? 1 : 0),
};

/** NumPy broadcasting, computed directly from multi-indices. */
export function broadcastShapeRef(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)]! : 1;
    const db = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)]! : 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`reference: cannot broadcast [${a}] and [${b}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Index into `shape` of the element that broadcasts to output multi-index `idx`. */
function sourceIndex(idx: readonly number[], shape: readonly number[]): number {
  const off = idx.length - shape.length;
  return ravel(shape.map((d, i) => (d === 1 ? 0 : idx[off + i]!)), shape);
}

export function binaryRef(a: RefTensor, b: RefTensor, op: string): RefTensor {
  const f = refBinary[op];
  if (!f) throw new Error(`reference: no binary ${op}`);
  const shape = broadcastShapeRef(a.shape, b.shape);
  const out = refZeros(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = f(a.data[sourceIndex(idx, a.shape)]!, b.data[sourceIndex(idx, b.shape)]!);
  }
  return out;
}
