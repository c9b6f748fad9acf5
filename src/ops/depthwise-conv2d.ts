// depthwiseConv2d: NHWC x [kh, kw, c, mult] with bias and a fused activation; backward w.r.t. input, filter and bias.
// Kernels and variants: src/ops/depthwise-kernels.ts.

import type { Device } from '../gpu/device.js';
import { tunedVariant, type TuneJob } from '../gpu/tuner.js';
import { forcedOr, precisionVariant } from '../gpu/variants.js';
import { sumOrderProbe } from './tune-probe.js';
import { isGradEnabled } from '../tensor/engine.js';
import { randomUniform, recordOp, Tensor } from '../tensor/tensor.js';
import { relu, relu6, sigmoid, silu } from './elementwise.js';
import { biasGradient, checkConvArgs } from './conv2d.js';
import { ACTIVATION_CODE, convGeometry, type ConvActivation, type ConvGeometry, type ConvGeometryOptions } from './conv-geometry.js';
import {
  DEPTHWISE_VARIANTS,
  depthwiseFamily,
  depthwiseVariantUnsupported,
  pixelTile,
  runDepthwiseBackwardFilter,
  runDepthwiseBackwardInput,
  runDepthwiseForward,
  type DepthwiseStage,
  type DepthwiseVariant,
} from './depthwise-kernels.js';

export { DEPTHWISE_VARIANTS, depthwiseKernelKind, type DepthwiseStage, type DepthwiseVariant } from './depthwise-kernels.js';

/** Options of depthwiseConv2d. */
export interface DepthwiseConv2DOptions extends ConvGeometryOptions {
  /** Added per output channel: shape [c * mult]. */
  bias?: Tensor;
  /** Applied after the bias (default 'linear'); fused into the kernel when no gradient is recorded. */
  activation?: ConvActivation;
}

const log2up = (v: number) => (v <= 1 ? 0 : Math.ceil(Math.log2(v)));

/** The shape class the tuner keys on: stage, filter, stride, dilation, vec4 path, log2 channels and pixels. */
export function depthwiseBucket(stage: DepthwiseStage, geo: ConvGeometry, mult: number): string {
  const path = mult === 1 && geo.c % 4 === 0 ? 'v' : 's';
  return `${stage}:k${geo.kh}x${geo.kw}s${geo.sh}x${geo.sw}d${geo.dh}x${geo.dw}${path}c${log2up(geo.c * mult)}p${log2up(geo.n * geo.oh * geo.ow)}`;
}

/**
 * The variant a stage runs: forced (tests), 'f16' under float16 compute precision where the adapter can run it,
 * tuned (GRAFT_TUNE=on, measured per adapter and bucket), or 'register'.
 */
function pickVariant(device: Device, stage: DepthwiseStage, geo: ConvGeometry, mult: number): DepthwiseVariant {
  const runnable = (v: string) => depthwiseVariantUnsupported(device, v as DepthwiseVariant, stage, geo, mult) === null;
  const tuned = () => tunedVariant(device, 'depthwise', depthwiseBucket(stage, geo, mult), 'register', () => tuneJob(device, stage, geo, mult));
  return forcedOr(depthwiseFamily, () => precisionVariant(depthwiseFamily, runnable, tuned)) as DepthwiseVariant;
}

/** The variant `stage` of a depthwise convolution of this shape would run now (the bench prints it). */
export function depthwiseVariant(device: Device, stage: DepthwiseStage, geo: ConvGeometry, mult: number): DepthwiseVariant {
  return pickVariant(device, stage, geo, mult);
}

/** A tuning job for one stage and shape: seeded inputs of its sizes; probes compare with the register variant. */
function tuneJob(device: Device, stage: DepthwiseStage, geo: ConvGeometry, mult: number): TuneJob {
  const filterShape = [geo.kh, geo.kw, geo.c, mult];
  // NOTE: explicit seeds, so tuning never advances the user's random stream.
  const x = randomUniform([geo.n, geo.h, geo.w, geo.c], -1, 1, { seed: 11, device });
  const f = randomUniform(filterShape, -1, 1, { seed: 12, device });
  const dy = randomUniform([geo.n, geo.oh, geo.ow, geo.c * mult], -1, 1, { seed: 13, device });
  const outs: Tensor[] = [];
  const run = (v: string): Tensor => {
    const variant = v as DepthwiseVariant;
    if (stage === 'forward') return runDepthwiseForward(variant, x, f, geo, null, 0);
    if (stage === 'backward_input') return runDepthwiseBackwardInput(variant, dy, f, geo);
    return runDepthwiseBackwardFilter(variant, x, dy, filterShape, geo);
  };
  // NOTE: the filter gradient sums N*OH*OW products per tap; the other stages KH*KW*MULT.
  const k = stage === 'backward_filter' ? geo.n * geo.oh * geo.ow : geo.kh * geo.kw * mult;
  return {
    candidates: DEPTHWISE_VARIANTS.filter((v) => !depthwiseFamily.lowPrecision.includes(v) && depthwiseVariantUnsupported(device, v, stage, geo, mult) === null),
    run: (v) => outs.push(run(v)),
    probe: sumOrderProbe(run, k),
    dispose: () => {
      for (const t of [x, f, dy, ...outs]) t.dispose();
      outs.length = 0;
    },
  };
}

/** Runs the forward kernel without recording. */
export function depthwiseConv2dRaw(x: Tensor, filter: Tensor, geo: ConvGeometry, bias: Tensor | null, activation: ConvActivation): Tensor {
  const variant = pickVariant(x.device, 'forward', geo, filter.shape[3]!);
  return runDepthwiseForward(variant, x, filter, geo, bias, ACTIVATION_CODE[activation]);
}

/** dL/dx given dL/dy, without recording. */
export function depthwiseBackwardInput(dy: Tensor, filter: Tensor, geo: ConvGeometry): Tensor {
  return runDepthwiseBackwardInput(pickVariant(dy.device, 'backward_input', geo, filter.shape[3]!), dy, filter, geo);
}

/** dL/dfilter given x and dL/dy (a reduction over N*OH*OW), without recording. */
export function depthwiseBackwardFilter(x: Tensor, dy: Tensor, filterShape: readonly number[], geo: ConvGeometry): Tensor {
  return runDepthwiseBackwardFilter(pickVariant(x.device, 'backward_filter', geo, filterShape[3]!), x, dy, filterShape, geo);
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
