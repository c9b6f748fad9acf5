// Unary and broadcasting binary ops: forward kernels, and backward as compositions of the same kernels.

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { recordOp, setGradOps, Tensor } from '../tensor/tensor.js';
import { broadcastShapes, broadcastStrides, checkRank, shapesEqual } from '../tensor/shape.js';
import { sumToShape } from './reduce-kernel.js';
import { checkFloat } from './checks.js';

const WG = 64;
const PER_THREAD = 4;

/** Unary op codes; the values match the constants in shaders/elementwise.wgsl. */
export const UnaryOp = {
  copy: 0, neg: 1, exp: 2, log: 3, sqrt: 4, rsqrt: 5, abs: 6, square: 7, pow: 8, relu: 9, relu6: 10,
  sigmoid: 11, tanh: 12, silu: 13, clip: 14, affine: 15, fill: 16, reciprocal: 17, hardSigmoid: 18, hardSwish: 19,
} as const;
/** Names of the unary elementwise kernels. */
export type UnaryName = keyof typeof UnaryOp;

/** Binary op codes; the values match the constants in shaders/elementwise.wgsl. */
export const BinaryOp = {
  add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, pow: 6, equal: 7, notEqual: 8, less: 9,
  lessEqual: 10, greater: 11, greaterEqual: 12, squaredDifference: 13, first: 14,
} as const;
/** Names of the binary elementwise kernels. */
export type BinaryName = keyof typeof BinaryOp;

interface UnaryParams {
  op: number;
  n: number;
  alpha: number;
  beta: number;
}

const groupsFor = (n: number) => grid(Math.ceil(n / (WG * PER_THREAD)));
// NOTE: the vec4 entry points handle 4 vec4s per invocation.
const groupsFor4 = (n: number) => grid(Math.ceil(n / (WG * PER_THREAD * 4)));

const unaryKernel = defineKernel<UnaryParams>({
  name: 'unary',
  shader: 'elementwise',
  entryPoint: 'unary',
  inputs: 1,
  outputs: 1,
  constants: (p) => ({ WG, OP: p.op }),
  uniforms: (p) => new Uniforms().u32(p.n).f32(p.alpha, p.beta),
  workgroups: (p) => groupsFor(p.n),
});

const unaryBackwardKernel = defineKernel<UnaryParams>({
  name: 'unary_backward',
  shader: 'elementwise',
  entryPoint: 'unary_backward',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WG, OP: p.op }),
  uniforms: (p) => new Uniforms().u32(p.n).f32(p.alpha, p.beta),
  workgroups: (p) => groupsFor(p.n),
});

interface BinaryParams {
  op: number;
  n: number;
  mode: 0 | 1 | 2 | 3 | 4;
  shape: number[];
  astr: number[];
  bstr: number[];
}

const binaryKernel = defineKernel<BinaryParams>({
  name: 'binary',
  shader: 'elementwise',
  entryPoint: 'binary',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WG, OP: p.op, BCAST: p.mode }),
  uniforms: (p) =>
    new Uniforms().u32(p.n, p.shape.length).vec4u(p.shape, 2, 1).vec4u(p.astr, 2).vec4u(p.bstr, 2),
  workgroups: (p) => groupsFor(p.n),
});

const unary4Kernel = defineKernel<UnaryParams>({ ...unaryKernel, name: 'unary4', entryPoint: 'unary4', workgroups: (p) => groupsFor4(p.n) });
const unaryBackward4Kernel = defineKernel<UnaryParams>({
  ...unaryBackwardKernel, name: 'unary_backward4', entryPoint: 'unary_backward4', workgroups: (p) => groupsFor4(p.n),
});
const binary4Kernel = defineKernel<BinaryParams>({ ...binaryKernel, name: 'binary4', entryPoint: 'binary4', workgroups: (p) => groupsFor4(p.n) });

/** Runs a unary kernel without recording (building block for forward and backward). */
export function mapUnary(x: Tensor, op: UnaryName, alpha = 0, beta = 0): Tensor {
  const out = new Tensor(x.device, x.shape, 'float32');
  x.device.run(x.size % 4 === 0 ? unary4Kernel : unaryKernel, [x.buffer], [out.buffer], { op: UnaryOp[op], n: x.size, alpha, beta });
  return out;
}

/** dy * f'(x) for unary op `op`, without recording. */
export function unaryGrad(x: Tensor, dy: Tensor, op: UnaryName, alpha = 0, beta = 0): Tensor {
  const out = new Tensor(x.device, x.shape, 'float32');
  const kernel = x.size % 4 === 0 ? unaryBackward4Kernel : unaryBackwardKernel;
  x.device.run(kernel, [x.buffer, dy.buffer], [out.buffer], { op: UnaryOp[op], n: x.size, alpha, beta });
  return out;
}

/** Runs a binary kernel with broadcasting, without recording. */
export function mapBinary(a: Tensor, b: Tensor, op: BinaryName): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  checkRank(op, shape);
  const out = new Tensor(a.device, shape, 'float32');
  const same = shapesEqual(a.shape, shape) && shapesEqual(b.shape, shape);
  const bScalar = shapesEqual(a.shape, shape) && b.size === 1;
  const c = coalesce(shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
  // Mode 3: a is contiguous and b repeats along the leading dim (bias-style [M, N] + [N]): one modulo per element.
  const bSuffix = c.shape.length === 2 && c.astr[0] === c.shape[1] && c.astr[1] === 1 && c.bstr[0] === 0 && c.bstr[1] === 1;
  // Mode 4: a contiguous [s0, s1, s2], b [s0, 1, s2] (a per-example, per-channel scale): two divisions per element.
  const bPerRow = c.shape.length === 3 && c.astr[0] === c.shape[1]! * c.shape[2]! && c.astr[2] === 1 &&
    c.bstr[0] === c.shape[2] && c.bstr[1] === 0 && c.bstr[2] === 1;
  const mode = same ? 0 : bScalar ? 1 : bSuffix ? 3 : bPerRow ? 4 : 2;
  const inner = c.shape[c.shape.length - 1] ?? 1;
  const vec4 = out.size % 4 === 0 && mode !== 2 && (mode < 3 || inner % 4 === 0);
  a.device.run(vec4 ? binary4Kernel : binaryKernel, [a.buffer, b.buffer], [out.buffer], { op: BinaryOp[op], n: out.size, mode, ...c });
  return out;
}

/**
 * Drops size-1 dims and merges neighbours that both inputs walk contiguously (or both broadcast), so the kernel's
 * per-element index arithmetic runs over as few dims as possible: [8,112,112,96] * [96] becomes [100352, 96] * [96].
 */
export function coalesce(shape: number[], astr: number[], bstr: number[]): { shape: number[]; astr: number[]; bstr: number[] } {
  const out = { shape: [] as number[], astr: [] as number[], bstr: [] as number[] };
  shape.forEach((d, i) => {
    if (d === 1) return;
    const k = out.shape.length - 1;
    if (k >= 0 && out.astr[k] === astr[i]! * d && out.bstr[k] === bstr[i]! * d) {
      out.shape[k]! *= d;
      out.astr[k] = astr[i]!;
      out.bstr[k] = bstr[i]!;
    } else {
      out.shape.push(d);
      out.astr.push(astr[i]!);
      out.bstr.push(bstr[i]!);
    }
  });
  return out;
}

function unaryOp(op: UnaryName, alpha = 0, beta = 0) {
  return (x: Tensor): Tensor => {
    checkFloat(op, x);
    const out = mapUnary(x, op, alpha, beta);
    return recordOp(out, [x], op, (g) => [unaryGrad(x, g, op, alpha, beta)]);
  };
}

/** -x, elementwise, with its gradient. */
export const neg = unaryOp('neg');
/** e^x, elementwise, with its gradient. */
export const exp = unaryOp('exp');
/** Natural logarithm, elementwise, with its gradient. */
export const log = unaryOp('log');
/** Square root, elementwise, with its gradient. */
export const sqrt = unaryOp('sqrt');
/** 1 / sqrt(x), elementwise, with its gradient. */
export const rsqrt = unaryOp('rsqrt');
/** |x|, elementwise, with its gradient. */
export const abs = unaryOp('abs');
/** x², elementwise, with its gradient. */
export const square = unaryOp('square');
/** 1 / x, elementwise, with its gradient. */
export const reciprocal = unaryOp('reciprocal');
/** max(x, 0), elementwise, with its gradient. */
export const relu = unaryOp('relu');
/** min(max(x, 0), 6), elementwise, with its gradient. */
export const relu6 = unaryOp('relu6');
/** 1 / (1 + e^-x), elementwise, with its gradient. */
export const sigmoid = unaryOp('sigmoid');
/** Hyperbolic tangent, elementwise, with its gradient. */
export const tanh = unaryOp('tanh');
/** SiLU, also called swish: x * sigmoid(x). */
export const silu = unaryOp('silu');
/** Alias of silu (Keras name), elementwise, with its gradient. */
export const swish = silu;
/** x · relu6(x + 3) / 6, elementwise, with its gradient. */
export const hardSwish = unaryOp('hardSwish');

/** x ** p for a scalar p. */
export function pow(x: Tensor, p: number): Tensor {
  return unaryOp('pow', p)(x);
}

/** Clamps to [min, max]; the gradient is 1 inside the closed interval. */
export function clip(x: Tensor, min: number, max: number): Tensor {
  if (min > max) throw new Error(`Graft clip: min ${min} > max ${max}`);
  return unaryOp('clip', min, max)(x);
}

/** x * scale + shift, with scalars. */
export function affine(x: Tensor, scale: number, shift: number): Tensor {
  return unaryOp('affine', scale, shift)(x);
}

/** max(0, min(1, alpha * x + beta)), ONNX HardSigmoid defaults. */
export function hardSigmoid(x: Tensor, alpha = 0.2, beta = 0.5): Tensor {
  return unaryOp('hardSigmoid', alpha, beta)(x);
}

/** A new tensor of x's shape filled with `value` (no gradient). */
export function fullLike(x: Tensor, value: number): Tensor {
  return mapUnary(x, 'fill', value);
}

/** a + b with broadcasting (NumPy rules). */
export function add(a: Tensor, b: Tensor): Tensor {
  const out = mapBinary(a, b, 'add');
  return recordOp(out, [a, b], 'add', (g, needs) => [
    needs[0] ? sumToShape(g, a.shape) : null,
    needs[1] ? sumToShape(g, b.shape) : null,
  ]);
}

/** a - b with broadcasting. */
export function sub(a: Tensor, b: Tensor): Tensor {
  const out = mapBinary(a, b, 'sub');
  return recordOp(out, [a, b], 'sub', (g, needs) => [
    needs[0] ? sumToShape(g, a.shape) : null,
    needs[1] ? negSum(g, b.shape) : null,
  ]);
}

function negSum(g: Tensor, shape: readonly number[]): Tensor {
  const s = sumToShape(g, shape);
  const n = mapUnary(s, 'neg');
  if (s !== g) s.dispose();
  return n;
}

/** Multiplies, then reduces to `shape` (for broadcast gradients); frees the intermediate. */
function mulSum(g: Tensor, x: Tensor, shape: readonly number[]): Tensor {
  const p = mapBinary(g, x, 'mul');
  const s = sumToShape(p, shape);
  if (s !== p) p.dispose();
  return s;
}

/** a · b with broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  const out = mapBinary(a, b, 'mul');
  return recordOp(out, [a, b], 'mul', (g, needs) => [
    needs[0] ? mulSum(g, b, a.shape) : null,
    needs[1] ? mulSum(g, a, b.shape) : null,
  ]);
}

/** a / b with broadcasting. */
export function div(a: Tensor, b: Tensor): Tensor {
  const out = mapBinary(a, b, 'div');
  return recordOp(out, [a, b], 'div', (g, needs) => {
    const ga = needs[0] ? divSum(g, b, a.shape) : null;
    let gb: Tensor | null = null;
    if (needs[1]) {
      // d(a/b)/db = -(a/b)/b = -out/b
      const q = mapBinary(out, b, 'div');
      const p = mapBinary(g, q, 'mul');
      q.dispose();
      gb = negSum(p, b.shape);
      if (gb !== p) p.dispose();
    }
    return [ga, gb];
  });
}

function divSum(g: Tensor, b: Tensor, shape: readonly number[]): Tensor {
  const q = mapBinary(g, b, 'div');
  const s = sumToShape(q, shape);
  if (s !== q) q.dispose();
  return s;
}

/** Elementwise max; the gradient goes to a where a >= b, else to b. */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return minMax(a, b, 'maximum', 'greaterEqual');
}

/** Elementwise min; the gradient goes to a where a <= b, else to b. */
export function minimum(a: Tensor, b: Tensor): Tensor {
  return minMax(a, b, 'minimum', 'lessEqual');
}

function minMax(a: Tensor, b: Tensor, op: 'maximum' | 'minimum', cmp: 'greaterEqual' | 'lessEqual'): Tensor {
  const out = mapBinary(a, b, op);
  return recordOp(out, [a, b], op, (g, needs) => {
    const mask = mapBinary(a, b, cmp);
    const ga = needs[0] ? mulSum(g, mask, a.shape) : null;
    let gb: Tensor | null = null;
    if (needs[1]) {
      const inv = mapUnary(mask, 'affine', -1, 1);
      gb = mulSum(g, inv, b.shape);
      inv.dispose();
    }
    mask.dispose();
    return [ga, gb];
  });
}

/** Squared difference (a - b)^2, as in Keras' MSE. */
export function squaredDifference(a: Tensor, b: Tensor): Tensor {
  const out = mapBinary(a, b, 'squaredDifference');
  return recordOp(out, [a, b], 'squaredDifference', (g, needs) => {
    const d = mapBinary(a, b, 'sub');
    const g2 = mapUnary(g, 'affine', 2, 0);
    const ga = needs[0] ? mulSum(g2, d, a.shape) : null;
    let gb: Tensor | null = null;
    if (needs[1]) {
      const s = mulSum(g2, d, b.shape);
      gb = mapUnary(s, 'neg');
      s.dispose();
    }
    d.dispose();
    g2.dispose();
    return [ga, gb];
  });
}

function compare(op: BinaryName) {
  return (a: Tensor, b: Tensor): Tensor => mapBinary(a, b, op);
}

/** Comparisons return float32 0/1 and carry no gradient. */
export const equal = compare('equal');
/** 1 where a != b else 0 (float32, broadcasting); no gradient. */
export const notEqual = compare('notEqual');
/** 1 where a < b else 0 (float32, broadcasting); no gradient. */
export const less = compare('less');
/** 1 where a <= b else 0 (float32, broadcasting); no gradient. */
export const lessEqual = compare('lessEqual');
/** 1 where a > b else 0 (float32, broadcasting); no gradient. */
export const greater = compare('greater');
/** 1 where a >= b else 0 (float32, broadcasting); no gradient. */
export const greaterEqual = compare('greaterEqual');

// NOTE: registered here, beside the kernels, so that any op module importing elementwise can backpropagate.
setGradOps({ add: (a, b) => mapBinary(a, b, 'add'), onesLike: (t) => fullLike(t, 1) });
