// depthwiseConv2d: NHWC x [kh, kw, c, mult] with bias and a fused activation; backward w.r.t. input, filter and bias.

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { isGradEnabled } from '../tensor/engine.js';
import { recordOp, Tensor } from '../tensor/tensor.js';
import { relu, relu6, sigmoid, silu } from './elementwise.js';
import { biasGradient, checkConvArgs, sumPartials } from './conv2d.js';
import { ACTIVATION_CODE, convGeometry, type ConvActivation, type ConvGeometry, type ConvGeometryOptions } from './conv-geometry.js';

/** Options of depthwiseConv2d. */
export interface DepthwiseConv2DOptions extends ConvGeometryOptions {
  /** Added per output channel: shape [c * mult]. */
  bias?: Tensor;
  /** Applied after the bias (default 'linear'); fused into the kernel when no gradient is recorded. */
  activation?: ConvActivation;
}

const WG = 64;
const WIN = 24; // NOTE: register window length in shaders/depthwise_conv2d.wgsl.
const KB = 8; // NOTE: filter taps per invocation in the filter gradient (KB in the shader).

interface DwParams {
  geo: ConvGeometry;
  mult: number;
  /** vec4 path: MULT == 1 and C % 4 == 0. */
  vec4: boolean;
  /** Channel (group) count along the invocation grid. */
  ch: number;
  /** Invocations that do work. */
  lanes: number;
  tp: number;
  /** Output rows per invocation (forward vec4). */
  tr: number;
  act: number;
  hasBias: boolean;
  chunk: number;
  chunks: number;
}

const constants = (p: DwParams) => ({ WG, KW: p.geo.kw, SW: p.geo.sw, DW: p.geo.dw, TP: p.tp });
// NOTE: the forward also specializes the rows per invocation and the vertical geometry (its row loop).
const forwardConstants = (p: DwParams) => ({ ...constants(p), TR: p.tr, KH: p.geo.kh, SH: p.geo.sh, DH: p.geo.dh });

const uniforms = (p: DwParams) => {
  const g = p.geo;
  return new Uniforms()
    .u32(g.n, g.h, g.w, g.c, g.oh, g.ow, p.mult, p.ch, g.padTop, g.padLeft, p.chunk, p.lanes)
    .u32(g.kh, g.sh, g.dh, p.act, p.hasBias ? 1 : 0, 0, 0, 0);
};

function kernels(stage: 'forward' | 'backward_input' | 'backward_filter', inputs: number) {
  const make = (vec4: boolean) =>
    defineKernel<DwParams>({
      name: `depthwise_${stage}${vec4 ? '_vec4' : ''}`,
      shader: 'depthwise_conv2d',
      entryPoint: `depthwise_${stage}${vec4 ? '_vec4' : ''}`,
      inputs,
      outputs: 1,
      constants: stage === 'forward' ? forwardConstants : constants,
      uniforms,
      workgroups: (p) =>
        stage === 'backward_filter' ? [Math.ceil(p.lanes / WG), p.chunks, 1] : grid(Math.ceil(p.lanes / WG)),
    });
  return { vec4: make(true), scalar: make(false) };
}

const forwardKernels = kernels('forward', 3);
const backwardInputKernels = kernels('backward_input', 2);
const backwardFilterKernels = kernels('backward_filter', 2);

// NOTE: two output rows per invocation share each loaded input row (vec4 forward): 25-50% less CPU time than one
// on the bench's depthwise layers (lavapipe).
const FORWARD_ROWS = 2;

/**
 * Pixel tile (4..8, or smaller where the window needs) whose input window fits the shader's register window,
 * wasting the fewest columns of a row of `width` (7 for 28 or 14 wide maps), the larger on ties.
 */
function pixelTile(geo: ConvGeometry, op: string, width = geo.ow): number {
  let best = 0;
  let bestUse = 0;
  for (let tp = 8; tp >= 1; tp--) {
    if ((tp - 1) * geo.sw + (geo.kw - 1) * geo.dw + 1 > WIN || (tp < 4 && best > 0)) continue;
    const use = width / (Math.ceil(width / tp) * tp) + tp / 64; // NOTE: the second term favours larger tiles a little.
    if (use > bestUse) [best, bestUse] = [tp, use];
  }
  if (best === 0) throw new Error(`Graft ${op}: filter width ${geo.kw} with dilation ${geo.dw} spans more than ${WIN} pixels`);
  return best;
}

function baseParams(geo: ConvGeometry, mult: number): Omit<DwParams, 'ch' | 'lanes' | 'tp'> {
  return { geo, mult, vec4: mult === 1 && geo.c % 4 === 0, tr: 1, act: 0, hasBias: false, chunk: 0, chunks: 1 };
}

/** Runs the forward kernel without recording. */
export function depthwiseConv2dRaw(x: Tensor, filter: Tensor, geo: ConvGeometry, bias: Tensor | null, activation: ConvActivation): Tensor {
  const mult = filter.shape[3]!;
  const cout = geo.c * mult;
  const out = new Tensor(x.device, [geo.n, geo.oh, geo.ow, cout], 'float32');
  const b = baseParams(geo, mult);
  const tp = pixelTile(geo, 'depthwiseConv2d');
  const ch = b.vec4 ? geo.c / 4 : cout;
  const tr = b.vec4 ? FORWARD_ROWS : 1;
  const p: DwParams = { ...b, ch, tp, tr, lanes: geo.n * Math.ceil(geo.oh / tr) * Math.ceil(geo.ow / tp) * ch, act: ACTIVATION_CODE[activation], hasBias: bias !== null };
  const k = b.vec4 ? forwardKernels.vec4 : forwardKernels.scalar;
  // NOTE: without a bias the filter buffer fills the unused binding (read-only aliasing is allowed).
  x.device.run(k, [x.buffer, filter.buffer, (bias ?? filter).buffer], [out.buffer], p);
  return out;
}

/** dL/dx given dL/dy, without recording. */
export function depthwiseBackwardInput(dy: Tensor, filter: Tensor, geo: ConvGeometry): Tensor {
  const b = baseParams(geo, filter.shape[3]!);
  // NOTE: the window is only used with stride 1 along W; otherwise any tile size fits.
  const tp = geo.sw === 1 ? pixelTile(geo, 'depthwiseConv2d backward', geo.w) : 4;
  const ch = b.vec4 ? geo.c / 4 : geo.c;
  const dx = new Tensor(dy.device, [geo.n, geo.h, geo.w, geo.c], 'float32');
  const p: DwParams = { ...b, ch, tp, lanes: geo.n * geo.h * Math.ceil(geo.w / tp) * ch };
  dy.device.run(b.vec4 ? backwardInputKernels.vec4 : backwardInputKernels.scalar, [dy.buffer, filter.buffer], [dx.buffer], p);
  return dx;
}

/** dL/dfilter given x and dL/dy (a reduction over N*OH*OW in chunks), without recording. */
export function depthwiseBackwardFilter(x: Tensor, dy: Tensor, filterShape: readonly number[], geo: ConvGeometry): Tensor {
  const mult = filterShape[3]!;
  const b = baseParams(geo, mult);
  const ch = b.vec4 ? geo.c / 4 : geo.c * mult;
  const lanes = geo.kh * Math.ceil(geo.kw / KB) * ch;
  const total = geo.n * geo.oh * geo.ow;
  const parallel = Math.ceil(lanes / WG);
  const chunks = Math.max(1, Math.min(Math.ceil(64 / parallel), Math.ceil(total / 64)));
  const chunk = Math.ceil(total / chunks);
  const used = Math.ceil(total / chunk);
  const size = geo.kh * geo.kw * geo.c * mult;
  const partial = new Tensor(x.device, [used * size], 'float32');
  const p: DwParams = { ...b, ch, tp: 1, lanes, chunk, chunks: used };
  x.device.run(b.vec4 ? backwardFilterKernels.vec4 : backwardFilterKernels.scalar, [x.buffer, dy.buffer], [partial.buffer], p);
  const out = sumPartials(partial, used, filterShape);
  partial.dispose();
  return out;
}

const ACTIVATIONS: Record<Exclude<ConvActivation, 'linear'>, (t: Tensor) => Tensor> = { relu, relu6, sigmoid, silu };

/**
 * Depthwise 2-D convolution of NHWC `x` [n, h, w, c] with `filter` [kh, kw, c, mult]: y [n, oh, ow, c*mult],
 * output channel c*mult + m (TensorFlow order). Padding as in conv2d.
 */
export function depthwiseConv2d(x: Tensor, filter: Tensor, options: DepthwiseConv2DOptions = {}): Tensor {
  const bias = options.bias;
  checkConvArgs('depthwiseConv2d', x, filter, 2, bias, (f) => f[2]! * f[3]!);
  const geo = convGeometry('depthwiseConv2d', x.shape, filter.shape, options);
  const activation = options.activation ?? 'linear';
  if (!(activation in ACTIVATION_CODE)) throw new Error(`Graft depthwiseConv2d: unknown activation '${activation}'`);
  pixelTile(geo, 'depthwiseConv2d');
  const inputs = bias ? [x, filter, bias] : [x, filter];
  const recording = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  if (recording && activation !== 'linear') {
    // NOTE: while recording, the activation runs as its own op so that its backward sees the pre-activation.
    return ACTIVATIONS[activation](depthwiseConv2d(x, filter, { ...options, activation: 'linear' }));
  }
  const out = depthwiseConv2dRaw(x, filter, geo, bias ?? null, activation);
  return recordOp(out, inputs, 'depthwiseConv2d', (g, needs) => [
    needs[0] ? depthwiseBackwardInput(g, filter, geo) : null,
    needs[1] ? depthwiseBackwardFilter(x, g, filter.shape, geo) : null,
    needs[2] ? biasGradient(g, geo.c * filter.shape[3]!) : null,
  ]);
}
