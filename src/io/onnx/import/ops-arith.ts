// Add, Sub, Mul, Div: merge layers for two computed inputs, Rescaling or ConstantArithmetic for a constant
// operand (permuted to the other input's layout), CPU evaluation when both are constants.

import { Rescaling } from '../../../nn/layers/core.js';
import { Add as AddLayer, Multiply } from '../../../nn/layers/merge.js';
import type { Layer } from '../../../nn/layer.js';
import { ConstantArithmetic, type ArithmeticOp } from '../layers/constant-arithmetic.js';
import { ElementwiseBinary } from '../layers/elementwise.js';
import type { OnnxNode, OnnxTensor } from '../model.js';
import type { ImportContext, TensorValue } from './context.js';
import { silu } from './ops-activation.js';
import { physicalOrder, transposeValues } from './perm.js';
import { floatValues } from './weights.js';

const APPLY: Record<ArithmeticOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
};

/** Largest constant-constant result computed on the CPU. */
const MAX_CPU_ELEMENTS = 1 << 24;

function binary(ctx: ImportContext, node: OnnxNode, op: ArithmeticOp): void {
  if (node.inputs.length !== 2) return ctx.fail(node, `expects 2 inputs, got ${node.inputs.length}`);
  const a = ctx.input(node, 0);
  const b = ctx.input(node, 1);
  if (a.kind === 'const' && b.kind === 'const') {
    return ctx.setOutput(node, { kind: 'const', tensor: constantBinary(ctx, node, op, a.tensor, b.tensor) });
  }
  if (a.kind === 'tensor' && b.kind === 'tensor') return twoTensors(ctx, node, op, a, b);
  const [x, c, reversed] = a.kind === 'tensor' ? [a, (b as { tensor: OnnxTensor }).tensor, false] : [b as TensorValue, a.tensor, true];
  withConstant(ctx, node, op, x, c, reversed);
}

function twoTensors(ctx: ImportContext, node: OnnxNode, op: ArithmeticOp, a: TensorValue, b: TensorValue): void {
  if (a.perm.length !== b.perm.length) {
    return ctx.fail(node, `inputs of rank ${a.perm.length} and ${b.perm.length}: broadcasting across ranks is supported for constants only`);
  }
  const bb = ctx.toLayout(node, b, a.perm);
  const name = ctx.layerName(node);
  const layer: Layer = op === 'add' ? new AddLayer({ name }) : op === 'mul' ? new Multiply({ name }) : new ElementwiseBinary({ name, op });
  ctx.setOutput(node, { kind: 'tensor', sym: ctx.apply(node, layer, [a, bb]), perm: a.perm });
}

function withConstant(ctx: ImportContext, node: OnnxNode, op: ArithmeticOp, x: TensorValue, c: OnnxTensor, reversed: boolean): void {
  const rank = x.perm.length;
  const values = floatValues(c);
  const name = ctx.layerName(node);
  if (values.length === 1 && (!reversed || op === 'add' || op === 'mul' || op === 'sub')) {
    const v = values[0]!;
    const args = {
      add: { scale: 1, offset: v }, mul: { scale: v, offset: 0 }, div: { scale: 1 / v, offset: 0 },
      sub: reversed ? { scale: -1, offset: v } : { scale: 1, offset: -v },
    }[op];
    if (c.dims.length <= rank) return ctx.setOutput(node, { kind: 'tensor', sym: ctx.apply(node, new Rescaling({ name, ...args }), x), perm: x.perm });
  }
  let dims = [...c.dims];
  while (dims.length > rank && dims[0] === 1) dims = dims.slice(1);
  if (dims.length > rank) return ctx.fail(node, `constant [${c.dims.join(',')}] has a higher rank than the computed input (rank ${rank})`);
  dims = [...new Array<number>(rank - dims.length).fill(1), ...dims];
  const layer = new ConstantArithmetic({
    name, op, reversed,
    constantShape: physicalOrder(dims, x.perm),
    constant: Array.from(transposeValues(values, dims, x.perm)),
  });
  ctx.setOutput(node, { kind: 'tensor', sym: ctx.apply(node, layer, x), perm: x.perm });
}

/** NumPy-broadcast arithmetic of two constants (float32 result). */
function constantBinary(ctx: ImportContext, node: OnnxNode, op: ArithmeticOp, a: OnnxTensor, b: OnnxTensor): OnnxTensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pa = [...new Array<number>(rank - a.dims.length).fill(1), ...a.dims];
  const pb = [...new Array<number>(rank - b.dims.length).fill(1), ...b.dims];
  const dims = pa.map((d, i) => {
    const e = pb[i]!;
    if (d !== e && d !== 1 && e !== 1) ctx.fail(node, `constants [${a.dims.join(',')}] and [${b.dims.join(',')}] cannot be broadcast`);
    return d === 1 ? e : d;
  });
  const n = dims.reduce((p, d) => p * d, 1);
  if (n > MAX_CPU_ELEMENTS) return ctx.fail(node, `constant result of ${n} elements is too large`);
  const stride = (shape: number[]) => {
    const s = new Array<number>(rank).fill(0);
    let k = 1;
    for (let i = rank - 1; i >= 0; i--) {
      s[i] = shape[i] === 1 ? 0 : k;
      k *= shape[i]!;
    }
    return s;
  };
  const sa = stride(pa);
  const sb = stride(pb);
  const va = floatValues(a);
  const vb = floatValues(b);
  const out = new Float32Array(n);
  const idx = new Array<number>(rank).fill(0);
  const f = APPLY[op];
  for (let o = 0; o < n; o++) {
    let ia = 0;
    let ib = 0;
    for (let i = 0; i < rank; i++) {
      ia += idx[i]! * sa[i]!;
      ib += idx[i]! * sb[i]!;
    }
    out[o] = f(va[ia]!, vb[ib]!);
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < dims[i]!) break;
      idx[i] = 0;
    }
  }
  return { name: node.outputs[0] ?? '', dtype: 'float32', dims, values: out };
}

export function Add(ctx: ImportContext, node: OnnxNode): void {
  binary(ctx, node, 'add');
}

export function Sub(ctx: ImportContext, node: OnnxNode): void {
  binary(ctx, node, 'sub');
}

export function Mul(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.plan.silu.get(node);
  if (x !== undefined) return silu(ctx, node, x);
  binary(ctx, node, 'mul');
}

export function Div(ctx: ImportContext, node: OnnxNode): void {
  binary(ctx, node, 'div');
}
