// conv2d: NHWC x HWIO with bias and a fused activation epilogue; backward w.r.t. input, filter and bias.

import { defineKernel } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { isGradEnabled, noGrad } from '../tensor/engine.js';
import { recordOp, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { checkFloat, checkSameDevice } from './checks.js';
import { relu, relu6, sigmoid, silu } from './elementwise.js';
import { matmul } from './matmul.js';
import { reshape } from './reshape.js';
import { sum } from './reduce.js';
import { ACTIVATION_CODE, convGeometry, type ConvActivation, type ConvGeometry, type ConvGeometryOptions } from './conv-geometry.js';

/** Options of conv2d. */
export interface Conv2DOptions extends ConvGeometryOptions {
  /** Added per output channel: shape [cout]. */
  bias?: Tensor;
  /** Applied after the bias (default 'linear'); fused into the kernel when no gradient is recorded. */
  activation?: ConvActivation;
}


interface ConvParams {
  geo: ConvGeometry;
  /** Pixels (or filter rows) per invocation. */
  tp: number;
  cout: number;
  /** vec4 channel groups per invocation. */
  nc4: number;
  wg: number;
  act: number;
  hasBias: boolean;
  /** Output pixels per chunk (filter gradient). */
  chunk: number;
  /** Chunks (filter gradient). */
  chunks: number;
}

const convUniforms = (p: ConvParams) => {
  const g = p.geo;
  return new Uniforms()
    .u32(g.n, g.h, g.w, g.c, g.oh, g.ow, p.cout, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, p.chunk)
    .u32(p.act, p.hasBias ? 1 : 0, 0, 0);
};

const forwardKernel = defineKernel<ConvParams>({
  name: 'conv2d_forward',
  shader: 'conv2d',
  entryPoint: 'conv2d_forward',
  inputs: 3,
  outputs: 1,
  constants: (p) => ({ WG: p.wg, NC4: p.nc4, TP: p.tp }),
  uniforms: convUniforms,
  workgroups: (p) => [Math.ceil((p.geo.n * p.geo.oh * p.geo.ow) / (p.wg * p.tp)), Math.ceil(p.cout / (4 * p.nc4)), 1],
});

// NOTE: the same bindings, constants and dispatch as the scalar forward; only the entry point loads vec4 pixels.
const forwardVec4Kernel = defineKernel<ConvParams>({ ...forwardKernel, name: 'conv2d_forward_vec4', entryPoint: 'conv2d_forward_vec4' });

const backwardInputKernel = defineKernel<ConvParams>({
  name: 'conv2d_backward_input',
  shader: 'conv2d',
  entryPoint: 'conv2d_backward_input',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WG: p.wg, NC4: p.nc4, TP: p.tp }),
  uniforms: convUniforms,
  workgroups: (p) => [Math.ceil((p.geo.n * p.geo.h * p.geo.w) / (p.wg * p.tp)), Math.ceil(p.geo.c / (4 * p.nc4)), 1],
});

const backwardFilterKernel = defineKernel<ConvParams>({
  name: 'conv2d_backward_filter',
  shader: 'conv2d',
  entryPoint: 'conv2d_backward_filter',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WG: p.wg, NC4: p.nc4, TP: p.tp, SHARED_K: p.geo.c % p.tp === 0 ? 1 : 0 }),
  uniforms: convUniforms,
  workgroups: (p) => [Math.ceil((p.geo.kh * p.geo.kw * p.geo.c) / (p.wg * p.tp)), Math.ceil(p.cout / (4 * p.nc4)), p.chunks],
});

interface BiasParams {
  rows: number;
  cols: number;
  chunk: number;
  chunks: number;
}

const BIAS_WG = 64;

const biasGradKernel = defineKernel<BiasParams>({
  name: 'conv2d_bias_grad',
  shader: 'conv2d',
  entryPoint: 'conv2d_bias_grad',
  inputs: 1,
  outputs: 1,
  constants: () => ({ WG: BIAS_WG }),
  uniforms: (p) => new Uniforms().u32(p.rows, p.cols, p.chunk, 0),
  workgroups: (p) => [Math.ceil(p.cols / BIAS_WG), p.chunks, 1],
});

/** vec4 channel groups per invocation: wider tiles reuse each gathered pixel value more (measured on lavapipe). */
function channelGroups(channels: number): number {
  return Math.min(4, Math.ceil(channels / 4));
}

// NOTE: pixels (or filter rows) per invocation: 8 beat 4 and 2 by 25-60% in CPU time on lavapipe (bench/conv.ts).
const TP = 8;

/** Workgroup size: 64, or smaller (a multiple of 8) when there is little parallel work along x. */
function workgroupFor(items: number): number {
  return Math.min(64, Math.max(8, 8 * Math.ceil(items / TP / 8)));
}

/** Splits `total` reduction rows into chunks so that about `target` workgroups run in parallel. */
function chunking(total: number, parallel: number, target = 64): { chunk: number; chunks: number } {
  const chunks = Math.max(1, Math.min(Math.ceil(target / Math.max(1, parallel)), Math.ceil(total / 64)));
  const chunk = Math.ceil(total / chunks);
  return { chunk, chunks: Math.ceil(total / chunk) };
}

/** Sums [chunks, ...shape] partials over the first axis into a tensor of `shape` (no recording). */
export function sumPartials(partial: Tensor, chunks: number, shape: readonly number[]): Tensor {
  if (chunks === 1) return new Tensor(partial.device, shape, 'float32', partial);
  const s = noGrad(() => sum(new Tensor(partial.device, [chunks, partial.size / chunks], 'float32', partial), 0));
  const out = new Tensor(s.device, shape, 'float32', s);
  s.dispose();
  return out;
}

/** Column sums of `dy` viewed as [rows, cols]: the gradient of a per-channel bias (no recording). */
export function biasGradient(dy: Tensor, cols: number): Tensor {
  const rows = dy.size / cols;
  const { chunk, chunks } = chunking(rows, Math.ceil(cols / BIAS_WG), 32);
  const partial = new Tensor(dy.device, [chunks * cols], 'float32');
  dy.device.run(biasGradKernel, [dy.buffer], [partial.buffer], { rows, cols, chunk, chunks });
  const out = sumPartials(partial, chunks, [cols]);
  partial.dispose();
  return out;
}

function baseParams(geo: ConvGeometry, cout: number): ConvParams {
  return { geo, cout, tp: TP, nc4: 4, wg: 64, act: 0, hasBias: false, chunk: 0, chunks: 1 };
}

/** Runs the forward kernel without recording. */
export function conv2dRaw(x: Tensor, filter: Tensor, geo: ConvGeometry, bias: Tensor | null, activation: ConvActivation): Tensor {
  const cout = filter.shape[3]!;
  const out = new Tensor(x.device, [geo.n, geo.oh, geo.ow, cout], 'float32');
  // NOTE: vec4 loads of x (4 input channels per gather) took ~18% less CPU time on the 3x3 56x56x64 layer (lavapipe).
  const vec4 = geo.c % 4 === 0 && cout % 4 === 0;
  // NOTE: 16 pixels per invocation beat 8 by ~8% in CPU time for the vec4 kernel on large maps (bench/conv.ts).
  const tp = vec4 && geo.n * geo.oh * geo.ow >= 16384 ? 16 : TP;
  const p = { ...baseParams(geo, cout), tp, nc4: channelGroups(cout), act: ACTIVATION_CODE[activation], hasBias: bias !== null };
  const k = vec4 ? forwardVec4Kernel : forwardKernel;
  // NOTE: without a bias the filter buffer fills the unused binding (read-only aliasing is allowed).
  x.device.run(k, [x.buffer, filter.buffer, (bias ?? filter).buffer], [out.buffer], p);
  return out;
}

/** dL/dx of a linear convolution given dL/dy (the transposed convolution), without recording. */
export function conv2dBackwardInput(dy: Tensor, filter: Tensor, geo: ConvGeometry): Tensor {
  const dx = new Tensor(dy.device, [geo.n, geo.h, geo.w, geo.c], 'float32');
  const p = { ...baseParams(geo, filter.shape[3]!), nc4: channelGroups(geo.c) };
  dy.device.run(backwardInputKernel, [dy.buffer, filter.buffer], [dx.buffer], p);
  return dx;
}

/** dL/dfilter of a convolution given x and dL/dy (a reduction over N*OH*OW), without recording. */
export function conv2dBackwardFilter(x: Tensor, dy: Tensor, filterShape: readonly number[], geo: ConvGeometry): Tensor {
  const cout = filterShape[3]!;
  const rows = geo.kh * geo.kw * geo.c;
  const nc4 = channelGroups(cout);
  const wg = workgroupFor(rows);
  const parallel = Math.ceil(rows / (wg * TP)) * Math.ceil(cout / (4 * nc4));
  const { chunk, chunks } = chunking(geo.n * geo.oh * geo.ow, parallel);
  const partial = new Tensor(x.device, [chunks * rows * cout], 'float32');
  x.device.run(backwardFilterKernel, [x.buffer, dy.buffer], [partial.buffer], { ...baseParams(geo, cout), nc4, wg, chunk, chunks });
  const out = sumPartials(partial, chunks, filterShape);
  partial.dispose();
  return out;
}

/** 1x1, stride 1, unpadded: every output pixel is one row of a GEMM. */
function isPointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.padTop + g.padBottom + g.padLeft + g.padRight === 0;
}

/** A pointwise convolution as [N*H*W, Cin] x [Cin, Cout] through matmul (its kernels, epilogue and backward). */
function pointwise(x: Tensor, filter: Tensor, g: ConvGeometry, bias: Tensor | undefined, activation: ConvActivation): Tensor {
  const cout = filter.shape[3]!;
  const a = reshape(x, [g.n * g.h * g.w, g.c]);
  const b = reshape(filter, [g.c, cout]);
  const y = matmul(a, b, { activation, ...(bias ? { bias } : {}) });
  const out = reshape(y, [g.n, g.h, g.w, cout]);
  // NOTE: views share storage; disposing the inner ones only drops references (their tape nodes stay on `out`'s path).
  if (!y.requiresGrad) for (const t of [a, b, y]) t.dispose();
  return out;
}

const ACTIVATIONS: Record<Exclude<ConvActivation, 'linear'>, (t: Tensor) => Tensor> = { relu, relu6, sigmoid, silu };

/** Checks the filter rank, channel counts and bias shape; throws naming the op and the shapes. */
export function checkConvArgs(op: string, x: Tensor, filter: Tensor, inChannelsAxis: number, bias: Tensor | undefined, outChannels: (f: readonly number[]) => number): void {
  checkFloat(op, x, filter, ...(bias ? [bias] : []));
  checkSameDevice(op, x, filter, ...(bias ? [bias] : []));
  if (x.rank !== 4) throw new Error(`Graft ${op}: input must be NHWC of rank 4, got ${formatShape(x.shape)}`);
  if (filter.rank !== 4) throw new Error(`Graft ${op}: filter must have rank 4, got ${formatShape(filter.shape)} for input ${formatShape(x.shape)}`);
  const c = x.shape[3]!;
  const fc = filter.shape[inChannelsAxis]!;
  if (c !== fc) {
    throw new Error(`Graft ${op}: input ${formatShape(x.shape)} has ${c} channels, filter ${formatShape(filter.shape)} expects ${fc}`);
  }
  const oc = outChannels(filter.shape);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== oc)) {
    throw new Error(`Graft ${op}: bias ${formatShape(bias.shape)} must have shape [${oc}] for filter ${formatShape(filter.shape)}`);
  }
}

/**
 * 2-D convolution of NHWC `x` [n, h, w, cin] with HWIO `filter` [kh, kw, cin, cout]: y [n, oh, ow, cout].
 * Padding 'same' follows TensorFlow (output ceil(in / stride), the odd pad pixel at the end).
 */
export function conv2d(x: Tensor, filter: Tensor, options: Conv2DOptions = {}): Tensor {
  const bias = options.bias;
  checkConvArgs('conv2d', x, filter, 2, bias, (f) => f[3]!);
  const geo = convGeometry('conv2d', x.shape, filter.shape, options);
  const activation = options.activation ?? 'linear';
  if (!(activation in ACTIVATION_CODE)) throw new Error(`Graft conv2d: unknown activation '${activation}'`);
  if (isPointwise(geo)) return pointwise(x, filter, geo, bias, activation);
  const inputs = bias ? [x, filter, bias] : [x, filter];
  const recording = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  if (recording && activation !== 'linear') {
    // NOTE: while recording, the activation runs as its own op so that its backward sees the pre-activation.
    return ACTIVATIONS[activation](conv2d(x, filter, { ...options, activation: 'linear' }));
  }
  const out = conv2dRaw(x, filter, geo, bias ?? null, activation);
  return recordOp(out, inputs, 'conv2d', (g, needs) => [
    needs[0] ? conv2dBackwardInput(g, filter, geo) : null,
    needs[1] ? conv2dBackwardFilter(x, g, filter.shape, geo) : null,
    needs[2] ? biasGradient(g, filter.shape[3]!) : null,
  ]);
}
