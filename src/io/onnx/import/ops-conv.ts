// Conv and BatchNormalization: NCHW ONNX nodes onto NHWC Graft layers, weights converted (OIHW -> HWIO or
// [kh, kw, C, multiplier]).

import { BatchNormalization as BatchNormLayer } from '../../../nn/layers/normalization.js';
import { Conv2D, DepthwiseConv2D, type ConvLayerPadding } from '../../../nn/layers/conv.js';
import type { Layer } from '../../../nn/layer.js';
import { samePads } from '../../../ops/conv-geometry.js';
import { GroupedConv2D } from '../layers/grouped-conv2d.js';
import { convWeightLayout } from '../layout.js';
import type { OnnxNode } from '../model.js';
import type { ImportContext } from './context.js';
import { channelsLast } from './perm.js';
import { floatValues, setWeight } from './weights.js';

/** Graft padding of a 2-D Conv/pool node: 'valid', 'same' (SAME_UPPER) or explicit [top, bottom, left, right]. */
export function nodePadding(ctx: ImportContext, node: OnnxNode, size: [number, number], kernel: [number, number], strides: [number, number], dil: [number, number]): ConvLayerPadding {
  const a = ctx.attrs(node);
  const autoPad = a.string('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') return 'valid';
  if (autoPad === 'SAME_UPPER') return 'same';
  if (autoPad === 'SAME_LOWER') {
    // NOTE: SAME_LOWER puts the odd pad pixel first, which Graft's 'same' (TensorFlow) puts last.
    const [t, b] = samePads(size[0], kernel[0], strides[0], dil[0]);
    const [l, r] = samePads(size[1], kernel[1], strides[1], dil[1]);
    return [b, t, r, l];
  }
  if (autoPad !== 'NOTSET') return ctx.fail(node, `auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const pads = a.ints('pads', [0, 0, 0, 0]);
  if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) return ctx.fail(node, `pads [${pads.join(',')}] must be 4 integers >= 0`);
  const [t, l, b, r] = pads as [number, number, number, number];
  return t + l + b + r === 0 ? 'valid' : [t, b, l, r];
}

/** Two ints of a 2-D attribute with a default. */
export function pair(ctx: ImportContext, node: OnnxNode, name: string, fallback: number): [number, number] {
  const v = ctx.attrs(node).ints(name, [fallback, fallback]);
  if (v.length !== 2 || v.some((d) => !Number.isInteger(d) || d < 1)) return ctx.fail(node, `${name} [${v.join(',')}] must be 2 positive integers (2-D only)`);
  return [v[0]!, v[1]!];
}

export function Conv(ctx: ImportContext, node: OnnxNode): void {
  const x0 = ctx.tensorInput(node, 0);
  if (x0.perm.length !== 4) return ctx.fail(node, `only 2-D convolutions are supported; input has rank ${x0.perm.length}`);
  const w = ctx.requiredConst(node, 1, 'weight');
  const b = ctx.constInput(node, 2, 'bias');
  if (w.dims.length !== 4) return ctx.fail(node, `weight [${w.dims.join(',')}] must have rank 4 (2-D convolution)`);
  const x = ctx.toLayout(node, x0, channelsLast(4));
  const [, h, wd, c] = x.sym.shape;
  if (typeof c !== 'number') return ctx.fail(node, 'input channels are unknown');
  const [o, cg, kh, kw] = w.dims as [number, number, number, number];
  const group = ctx.attrs(node).int('group', 1);
  if (group < 1 || c % group !== 0) return ctx.fail(node, `group ${group} does not divide the ${c} input channels`);
  if (o % group !== 0) return ctx.fail(node, `group ${group} does not divide the ${o} output channels`);
  if (cg * group !== c) return ctx.fail(node, `weight [${w.dims.join(',')}] with group ${group} expects ${cg * group} input channels, the input has ${c}`);
  if (b && b.values.length !== o) return ctx.fail(node, `bias [${b.dims.join(',')}] should have ${o} values`);
  const a = ctx.attrs(node);
  if (a.has('kernel_shape') && a.ints('kernel_shape').join(',') !== `${kh},${kw}`) {
    return ctx.fail(node, `kernel_shape [${a.ints('kernel_shape').join(',')}] does not match weight [${w.dims.join(',')}]`);
  }
  const strides = pair(ctx, node, 'strides', 1);
  const dilationRate = pair(ctx, node, 'dilations', 1);
  const needSize = a.string('auto_pad', 'NOTSET') === 'SAME_LOWER';
  if (needSize && (typeof h !== 'number' || typeof wd !== 'number')) return ctx.fail(node, 'SAME_LOWER padding needs a known input size');
  const padding = nodePadding(ctx, node, [h as number, wd as number], [kh, kw], strides, dilationRate);
  const fused = ctx.plan.convActivation.get(node);
  const common = { name: ctx.layerName(node), kernelSize: [kh, kw] as [number, number], strides, padding, dilationRate, useBias: !!b, activation: fused?.activation };
  const layout = convWeightLayout({ dims: w.dims, values: floatValues(w) }, group, c);
  let layer: Layer & { kernel: import('../../../nn/variable.js').Variable | null; bias: import('../../../nn/variable.js').Variable | null };
  if (layout.kind === 'depthwise') layer = new DepthwiseConv2D({ ...common, depthMultiplier: layout.multiplier });
  else if (group === 1) layer = new Conv2D({ ...common, filters: o });
  else {
    if (fused) return ctx.fail(node, 'internal: fused activation on a grouped conv');
    layer = new GroupedConv2D({ ...common, filters: o, groups: group, padding: common.padding as GroupedConv2D['padding'] });
  }
  const sym = ctx.apply(node, layer, x);
  setWeight(ctx, node, layer.kernel, layout.weight.values, 'weight');
  if (b) setWeight(ctx, node, layer.bias, floatValues(b), 'bias');
  const out = { kind: 'tensor' as const, sym, perm: channelsLast(4) };
  if (fused) ctx.values.set(fused.output, out);
  else ctx.setOutput(node, out);
}

export function BatchNormalization(ctx: ImportContext, node: OnnxNode): void {
  const x0 = ctx.tensorInput(node, 0);
  const rank = x0.perm.length;
  if (rank < 2) return ctx.fail(node, `input must have rank 2 or more, got ${rank}`);
  if (node.outputs.slice(1).some((o) => o)) return ctx.fail(node, 'training-mode outputs (running mean/var) are not supported; export the model in inference mode');
  const params = ['scale', 'B', 'mean', 'var'].map((what, i) => {
    const t = ctx.constInput(node, i + 1, what);
    return t ? floatValues(t) : ctx.fail(node, `${what} (input ${i + 1}) is missing`);
  });
  const x = ctx.toLayout(node, x0, channelsLast(rank));
  const c = x.sym.shape[rank - 1];
  if (params.some((p) => p.length !== c)) return ctx.fail(node, `scale/B/mean/var must each have ${c} values (the channels), got ${params.map((p) => p.length).join('/')}`);
  const a = ctx.attrs(node);
  // NOTE: ONNX momentum has Keras' meaning (running = running * momentum + batch * (1 - momentum)).
  const layer = new BatchNormLayer({ name: ctx.layerName(node), epsilon: a.float('epsilon', 1e-5), momentum: a.float('momentum', 0.9) });
  const sym = ctx.apply(node, layer, x);
  setWeight(ctx, node, layer.gamma, params[0]!, 'scale');
  setWeight(ctx, node, layer.beta, params[1]!, 'B');
  setWeight(ctx, node, layer.movingMean, params[2]!, 'mean');
  setWeight(ctx, node, layer.movingVariance, params[3]!, 'var');
  ctx.setOutput(node, { kind: 'tensor', sym, perm: x.perm });
}
