// Gemm and MatMul onto Dense layers (kernel [in, out]); MatMul of two computed tensors onto a MatMul layer.

import { Dense } from '../../../nn/layers/dense.js';
import { MatMul as MatMulLayer } from '../layers/elementwise.js';
import { denseKernel } from '../layout.js';
import type { OnnxNode, OnnxTensor } from '../model.js';
import type { ImportContext, TensorValue } from './context.js';
import { afterTranspose, identity } from './perm.js';
import { floatValues, setWeight } from './weights.js';

/** A Dense layer on the last axis of x (in ONNX order), with the given kernel [K, N] and optional bias [N]. */
function dense(ctx: ImportContext, node: OnnxNode, x: TensorValue, kernel: Float32Array, k: number, n: number, bias: Float32Array | null, output: string): void {
  const y = ctx.toLayout(node, x, identity(x.perm.length));
  const last = y.sym.shape[y.sym.shape.length - 1];
  if (last !== k) return ctx.fail(node, `input's last dimension is ${last ?? 'unknown'}, the weight expects ${k}`);
  const layer = new Dense({ name: ctx.layerName(node), units: n, useBias: !!bias });
  const sym = ctx.apply(node, layer, y);
  setWeight(ctx, node, layer.kernel, kernel, 'weight');
  if (bias) setWeight(ctx, node, layer.bias, bias, 'bias');
  ctx.values.set(output, { kind: 'tensor', sym, perm: y.perm });
}

/** C of Gemm as a bias [N]; broadcast shapes [], [1], [N], [1, N]. */
function gemmBias(ctx: ImportContext, node: OnnxNode, c: OnnxTensor | undefined, n: number, beta: number): Float32Array | null {
  if (!c || beta === 0) return null;
  const v = floatValues(c);
  const ok = c.dims.length <= 2 && (v.length === n || v.length === 1) && (c.dims.length < 2 || c.dims[0] === 1);
  if (!ok) return ctx.fail(node, `C [${c.dims.join(',')}] must broadcast along rows as [${n}] or [1,${n}] (a per-row C is not supported)`);
  return Float32Array.from({ length: n }, (_, i) => beta * v[v.length === 1 ? 0 : i]!);
}

export function Gemm(ctx: ImportContext, node: OnnxNode): void {
  const a = ctx.attrs(node);
  const x0 = ctx.tensorInput(node, 0);
  const b = ctx.requiredConst(node, 1, 'B');
  if (x0.perm.length !== 2 || b.dims.length !== 2) return ctx.fail(node, `A and B must have rank 2, got ranks ${x0.perm.length} and ${b.dims.length}`);
  // NOTE: transA is a free transpose of the input's layout; the Dense layer then asks for the layout it needs.
  const x = a.int('transA', 0) ? { ...x0, perm: afterTranspose(x0.perm, [1, 0]) } : x0;
  const kernel = denseKernel({ dims: b.dims, values: floatValues(b) }, a.int('transB', 0) === 1);
  const alpha = a.float('alpha', 1);
  if (alpha !== 1) for (let i = 0; i < kernel.values.length; i++) kernel.values[i]! *= alpha;
  const [k, n] = kernel.dims as [number, number];
  const bias = gemmBias(ctx, node, ctx.constInput(node, 2, 'C'), n, a.float('beta', 1));
  dense(ctx, node, x, kernel.values, k, n, bias, node.outputs[0]!);
}

export function MatMul(ctx: ImportContext, node: OnnxNode): void {
  const a = ctx.input(node, 0);
  const b = ctx.input(node, 1);
  if (a.kind === 'const') return ctx.fail(node, 'a constant A (first input) is not supported; only B may be a weight');
  if (b.kind === 'tensor') {
    const rank = Math.max(a.perm.length, b.perm.length);
    if (a.perm.length !== rank || b.perm.length !== rank) return ctx.fail(node, 'two computed inputs must have the same rank');
    const x = ctx.toLayout(node, a, identity(rank));
    const y = ctx.toLayout(node, b, identity(rank));
    const sym = ctx.apply(node, new MatMulLayer({ name: ctx.layerName(node) }), [x, y]);
    return ctx.setOutput(node, { kind: 'tensor', sym, perm: identity(rank) });
  }
  const w = b.tensor;
  if (w.dims.length !== 2) return ctx.fail(node, `a constant B must have rank 2, got [${w.dims.join(',')}]`);
  if (a.perm.length < 2) return ctx.fail(node, `A must have rank 2 or more, got ${a.perm.length}`);
  const fused = ctx.plan.denseBias.get(node);
  const [k, n] = w.dims as [number, number];
  dense(ctx, node, a, floatValues(w), k, n, fused ? floatValues(fused.bias) : null, fused?.output ?? node.outputs[0]!);
}
