// conv2d: NHWC x HWIO with bias and a fused activation epilogue; backward w.r.t. input, filter and bias.

import type { Device } from '../gpu/device.js';
import { defineKernel } from '../gpu/kernel.js';
import { tunedVariant, type TuneJob } from '../gpu/tuner.js';
import { Uniforms } from '../gpu/uniforms.js';
import { forcedOr, precisionVariant } from '../gpu/variants.js';
import { sumOrderProbe } from './tune-probe.js';
import { isGradEnabled, noGrad } from '../tensor/engine.js';
import { randomUniform, recordOp, Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { checkFloat, checkSameDevice } from './checks.js';
import { relu, relu6, sigmoid, silu } from './elementwise.js';
import { matmul } from './matmul.js';
import { reshape } from './reshape.js';
import { sum } from './reduce.js';
import { ACTIVATION_CODE, convGeometry, type ConvActivation, type ConvGeometry, type ConvGeometryOptions } from './conv-geometry.js';
import {
  CONV2D_VARIANTS,
  chunking,
  conv2dFamily,
  conv2dVariantUnsupported,
  runConvBackwardFilter,
  runConvBackwardInput,
  runConvForward,
  stageGemm,
  type Conv2DVariant,
  type ConvStage,
} from './conv2d-kernels.js';

export { CONV2D_VARIANTS, type Conv2DVariant, type ConvStage } from './conv2d-kernels.js';

/** Options of conv2d. */
export interface Conv2DOptions extends ConvGeometryOptions {
  /** Added per output channel: shape [cout]. */
  bias?: Tensor;
  /** Applied after the bias (default 'linear'); fused into the kernel when no gradient is recorded. */
  activation?: ConvActivation;
}


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

const log2up = (v: number) => (v <= 1 ? 0 : Math.ceil(Math.log2(v)));

/** The shape class the tuner keys on: stage, kernel size, stride, log2 GEMM sizes and vec4 alignment of cin, cout. */
export function conv2dBucket(stage: ConvStage, geo: ConvGeometry, cout: number): string {
  const { gm, gn, gk } = stageGemm(stage, geo, cout);
  const al = `${geo.c % 4 === 0 ? 1 : 0}${cout % 4 === 0 ? 1 : 0}`;
  return `${stage}:k${geo.kh}x${geo.kw}s${geo.sh}x${geo.sw}m${log2up(gm)}n${log2up(gn)}k${log2up(gk)}a${al}`;
}

/**
 * The variant a stage runs: forced (tests), f16 under a float16 compute precision, tuned (GRAFT_TUNE=on, measured
 * per adapter and bucket) or 'register'.
 */
function pickVariant(device: Device, stage: ConvStage, geo: ConvGeometry, cout: number): Conv2DVariant {
  const runnable = (v: string) => conv2dVariantUnsupported(device, v as Conv2DVariant, stage, geo, cout) === null;
  const tuned = () => tunedVariant(device, 'conv2d', conv2dBucket(stage, geo, cout), 'register', () => tuneJob(device, stage, geo, cout));
  return forcedOr(conv2dFamily, () => precisionVariant(conv2dFamily, runnable, tuned)) as Conv2DVariant;
}

/** The variant a conv2d stage would run now for these shapes (the bench prints it). */
export function conv2dVariant(x: Tensor, filter: Tensor, options: ConvGeometryOptions = {}, stage: ConvStage = 'forward'): Conv2DVariant {
  return pickVariant(x.device, stage, convGeometry('conv2d', x.shape, filter.shape, options), filter.shape[3]!);
}

/** Runs one stage with `variant` and returns its result (the filter gradient summed over chunks). */
function runStage(variant: Conv2DVariant, stage: ConvStage, ins: { x: Tensor; f: Tensor; dy: Tensor }, geo: ConvGeometry): Tensor {
  const cout = ins.f.shape[3]!;
  if (stage === 'forward') return runConvForward(variant, ins.x, ins.f, geo, null, 0);
  if (stage === 'input') return runConvBackwardInput(variant, ins.dy, ins.f, geo);
  const { partial, chunks } = runConvBackwardFilter(variant, ins.x, ins.dy, geo, cout);
  const out = sumPartials(partial, chunks, ins.f.shape);
  partial.dispose();
  return out;
}

/** A tuning job for one stage and geometry: fresh seeded inputs; probes compare with the register variant. */
function tuneJob(device: Device, stage: ConvStage, geo: ConvGeometry, cout: number): TuneJob {
  // NOTE: explicit seeds, so tuning never advances the user's random stream.
  const ins = {
    x: randomUniform([geo.n, geo.h, geo.w, geo.c], -1, 1, { seed: 7, device }),
    f: randomUniform([geo.kh, geo.kw, geo.c, cout], -1, 1, { seed: 8, device }),
    dy: randomUniform([geo.n, geo.oh, geo.ow, cout], -1, 1, { seed: 9, device }),
  };
  const outs: Tensor[] = [];
  // NOTE: 'subgroup' runs the register kernels for the forward and input stages: timing it there would be a duplicate.
  const candidates = CONV2D_VARIANTS.filter(
    (v) => !conv2dFamily.lowPrecision.includes(v) && (v !== 'subgroup' || stage === 'filter') && conv2dVariantUnsupported(device, v, stage, geo, cout) === null,
  );
  const k = stageGemm(stage, geo, cout).gk;
  return {
    candidates,
    run: (v) => outs.push(runStage(v as Conv2DVariant, stage, ins, geo)),
    probe: sumOrderProbe((v) => runStage(v as Conv2DVariant, stage, ins, geo), k),
    dispose: () => {
      for (const t of [ins.x, ins.f, ins.dy, ...outs]) t.dispose();
      outs.length = 0;
    },
  };
}

/** Runs the forward kernel of the picked variant without recording. */
export function conv2dRaw(x: Tensor, filter: Tensor, geo: ConvGeometry, bias: Tensor | null, activation: ConvActivation): Tensor {
  const variant = pickVariant(x.device, 'forward', geo, filter.shape[3]!);
  return runConvForward(variant, x, filter, geo, bias, ACTIVATION_CODE[activation]);
}

/** dL/dx of a linear convolution given dL/dy (the transposed convolution), without recording. */
export function conv2dBackwardInput(dy: Tensor, filter: Tensor, geo: ConvGeometry): Tensor {
  return runConvBackwardInput(pickVariant(dy.device, 'input', geo, filter.shape[3]!), dy, filter, geo);
}

/** dL/dfilter of a convolution given x and dL/dy (a reduction over N*OH*OW), without recording. */
export function conv2dBackwardFilter(x: Tensor, dy: Tensor, filterShape: readonly number[], geo: ConvGeometry): Tensor {
  const cout = filterShape[3]!;
  const { partial, chunks } = runConvBackwardFilter(pickVariant(x.device, 'filter', geo, cout), x, dy, geo, cout);
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
