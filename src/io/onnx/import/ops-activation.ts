// Activations (Relu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh) and Softmax: layout-free elementwise layers,
// except Softmax, whose axis maps onto the value's layout.

import { Activation, Reshape, type ActivationArgs } from '../../../nn/layers/core.js';
import type { Layer } from '../../../nn/layer.js';
import { ScalarActivation } from '../layers/elementwise.js';
import { Softmax as SoftmaxLayer } from '../layers/softmax.js';
import type { OnnxNode } from '../model.js';
import type { ImportContext, TensorValue } from './context.js';
import { clipRange } from './patterns.js';
import { identity } from './perm.js';

/** Applies a one-input layer that keeps the layout, and sets the node's output. */
export function sameLayout(ctx: ImportContext, node: OnnxNode, layer: Layer, x: TensorValue = ctx.tensorInput(node, 0)): void {
  ctx.setOutput(node, { kind: 'tensor', sym: ctx.apply(node, layer, x), perm: x.perm });
}

function activation(ctx: ImportContext, node: OnnxNode, name: ActivationArgs['activation']): void {
  sameLayout(ctx, node, new Activation({ name: ctx.layerName(node), activation: name }));
}

export function Relu(ctx: ImportContext, node: OnnxNode): void {
  activation(ctx, node, 'relu');
}

export function Sigmoid(ctx: ImportContext, node: OnnxNode): void {
  activation(ctx, node, 'sigmoid');
}

export function Tanh(ctx: ImportContext, node: OnnxNode): void {
  activation(ctx, node, 'tanh');
}

export function HardSwish(ctx: ImportContext, node: OnnxNode): void {
  activation(ctx, node, 'hardSwish');
}

export function HardSigmoid(ctx: ImportContext, node: OnnxNode): void {
  const a = ctx.attrs(node);
  const alpha = a.float('alpha', 0.2);
  const beta = a.float('beta', 0.5);
  if (alpha === 0.2 && beta === 0.5) return activation(ctx, node, 'hardSigmoid');
  sameLayout(ctx, node, new ScalarActivation({ name: ctx.layerName(node), op: 'hardSigmoid', alpha, beta }));
}

export function Clip(ctx: ImportContext, node: OnnxNode): void {
  const range = clipRange(node, ctx.file, ctx.opset, (name) => {
    const v = ctx.values.get(name);
    return v?.kind === 'const' ? v.tensor : undefined;
  });
  if (!range) return ctx.fail(node, 'min and max must be constant scalars');
  const [lo, hi] = range;
  if (lo > hi) return ctx.fail(node, `min ${lo} is greater than max ${hi}`);
  if (lo === 0 && hi === 6) return activation(ctx, node, 'relu6');
  if (lo === 0 && hi === Infinity) return activation(ctx, node, 'relu');
  sameLayout(ctx, node, new ScalarActivation({ name: ctx.layerName(node), op: 'clip', alpha: lo, beta: hi }));
}

/** SiLU found by the pattern pass (Sigmoid + Mul). */
export function silu(ctx: ImportContext, node: OnnxNode, x: string): void {
  const v = ctx.values.get(x);
  if (!v || v.kind !== 'tensor') return ctx.fail(node, `input '${x}' must be a computed tensor`);
  sameLayout(ctx, node, new Activation({ name: ctx.layerName(node), activation: 'silu' }), v);
}

export function Softmax(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const rank = x.perm.length;
  const raw = ctx.attrs(node).int('axis', ctx.opset < 13 ? 1 : -1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis < 0 || axis >= rank) return ctx.fail(node, `axis ${raw} is out of range for rank ${rank}`);
  if (ctx.opset >= 13 || axis === rank - 1) {
    const layer = new SoftmaxLayer({ name: ctx.layerName(node), axis: x.perm.indexOf(axis) });
    return sameLayout(ctx, node, layer, x);
  }
  // NOTE: before opset 13, Softmax flattens axes [axis, rank) into one and normalizes over all of them.
  if (axis === 0) return ctx.fail(node, 'axis 0 (softmax over the batch) is not supported');
  const y = ctx.toLayout(node, x, identity(rank));
  const logical = ctx.logical(y).slice(1);
  if (logical.some((d) => d === null)) return ctx.fail(node, 'needs known non-batch dimensions');
  const dims = logical as number[];
  const flat = [...dims.slice(0, axis - 1), dims.slice(axis - 1).reduce((p, d) => p * d, 1)];
  const f = ctx.apply(node, new Reshape({ name: ctx.layerName(node, 'flatten'), targetShape: flat }), y);
  const s = ctx.apply(node, new SoftmaxLayer({ name: ctx.layerName(node), axis: -1 }), { kind: 'tensor', sym: f, perm: identity(flat.length + 1) });
  const back = ctx.apply(node, new Reshape({ name: ctx.layerName(node, 'unflatten'), targetShape: dims }), { kind: 'tensor', sym: s, perm: identity(flat.length + 1) });
  ctx.setOutput(node, { kind: 'tensor', sym: back, perm: identity(rank) });
}
