// Conv2D (kernel HWIO) and DepthwiseConv2D (kernel [kh, kw, c, multiplier]) on NHWC inputs.

import { conv2d, type ConvActivation, type ConvPadding } from '../../ops/index.js';
import { depthwiseConv2d } from '../../ops/depthwise-conv2d.js';
import type { Tensor } from '../../tensor/tensor.js';
import { activate, checkActivation, type ActivationName } from '../activations.js';
import type { InitializerName } from '../initializers.js';
import { Layer, one, oneShape, shapeError, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import type { Shape } from '../symbolic.js';
import type { Variable } from '../variable.js';

type Pair = number | [number, number];

/** Padding of the convolution layers. */
export type ConvLayerPadding = 'valid' | 'same' | [number, number, number, number];

/** Options shared by the convolution layers. */
export interface ConvBaseArgs extends LayerArgs {
  kernelSize: Pair;
  /** Default 1. */
  strides?: Pair;
  /** 'valid' (default), 'same', or explicit [top, bottom, left, right] (as ONNX pads, for imported models). */
  padding?: ConvLayerPadding;
  /** Default 1. */
  dilationRate?: Pair;
  activation?: ActivationName;
  /** Default true. */
  useBias?: boolean;
  /** Default 'zeros'. */
  biasInitializer?: InitializerName;
}

/** Options of conv2d(). */
export interface Conv2DArgs extends ConvBaseArgs {
  filters: number;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerName;
}

/** Options of depthwiseConv2d(). */
export interface DepthwiseConv2DArgs extends ConvBaseArgs {
  /** Output channels per input channel (default 1). */
  depthMultiplier?: number;
  /** Default 'glorotUniform'. */
  depthwiseInitializer?: InitializerName;
}

// NOTE: 'swish' is Keras' other name for 'silu'; both fuse into the conv epilogue.
const FUSED = new Set<string>(['linear', 'relu', 'relu6', 'sigmoid', 'silu', 'swish']);

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Output size of one spatial axis (TensorFlow rules; `pads` = before + after for explicit padding). */
function outSize(n: number | null, k: number, s: number, d: number, padding: ConvLayerPadding, pads: number): number | null {
  if (n === null) return null;
  if (padding === 'same') return Math.ceil(n / s);
  return Math.floor((n + pads - (k - 1) * d - 1) / s) + 1;
}

abstract class ConvBase extends Layer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: ConvLayerPadding;
  readonly dilationRate: [number, number];
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly biasInitializer: InitializerName;
  kernel: Variable | null = null;
  bias: Variable | null = null;

  constructor(args: ConvBaseArgs) {
    super(args);
    this.kernelSize = pair(args.kernelSize);
    this.strides = pair(args.strides ?? 1);
    const p = args.padding ?? 'valid';
    if (Array.isArray(p) && (p.length !== 4 || !p.every((v) => Number.isInteger(v) && v >= 0))) {
      throw new Error(`Graft ${this.className} '${this.name}': explicit padding must be [top, bottom, left, right] of integers >= 0, got ${JSON.stringify(p)}`);
    }
    this.padding = Array.isArray(p) ? [p[0], p[1], p[2], p[3]] : p;
    this.dilationRate = pair(args.dilationRate ?? 1);
    this.activation = checkActivation(`${this.className} '${this.name}'`, args.activation);
    this.useBias = args.useBias ?? true;
    this.biasInitializer = args.biasInitializer ?? 'zeros';
  }

  protected abstract outChannels(inChannels: number): number;

  protected inChannels(inputShape: Shape | Shape[]): number {
    const s = oneShape(this, inputShape);
    const c = s[3];
    if (s.length !== 4 || typeof c !== 'number') throw shapeError(this, 'expects NHWC input of rank 4 with known channels', s);
    return c;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    const c = this.inChannels(s);
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.strides;
    const [dh, dw] = this.dilationRate;
    const [t, b, l, r] = Array.isArray(this.padding) ? this.padding : [0, 0, 0, 0];
    return [s[0] ?? null, outSize(s[1] ?? null, kh, sh, dh, this.padding, t + b), outSize(s[2] ?? null, kw, sw, dw, this.padding, l + r), this.outChannels(c)];
  }

  /** Runs the convolution op with the fused activation where the op supports it. */
  protected convolve(x: Tensor, op: (x: Tensor, f: Tensor, o: { strides: [number, number]; padding: ConvPadding; dilations: [number, number]; bias?: Tensor; activation: ConvActivation }) => Tensor): Tensor {
    const c = x.shape[3];
    if (x.rank !== 4 || c !== this.kernel!.shape[2]) throw shapeError(this, `expects NHWC input with ${this.kernel!.shape[2]} channels`, x.shape);
    const fused = FUSED.has(this.activation);
    const y = op(x, this.kernel!.value, {
      strides: this.strides, padding: this.padding, dilations: this.dilationRate, bias: this.bias?.value,
      activation: (fused ? (this.activation === 'swish' ? 'silu' : this.activation) : 'linear') as ConvActivation,
    });
    return fused ? y : activate(this.activation, y);
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      kernelSize: this.kernelSize, strides: this.strides, padding: this.padding, dilationRate: this.dilationRate,
      activation: this.activation, useBias: this.useBias, biasInitializer: this.biasInitializer,
    };
  }
}

/** Keras Conv2D on NHWC inputs, HWIO kernel, optional bias and fused activation. */
export class Conv2D extends ConvBase {
  static override readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernelInitializer: InitializerName;

  constructor(args: Conv2DArgs) {
    super(args);
    if (!Number.isInteger(args.filters) || args.filters < 1) throw new Error(`Graft Conv2D '${this.name}': filters must be a positive integer, got ${args.filters}`);
    this.filters = args.filters;
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
  }

  protected outChannels(): number {
    return this.filters;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = this.inChannels(inputShape);
    this.kernel = this.addWeight('kernel', [...this.kernelSize, c, this.filters], this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], this.biasInitializer);
  }

  call(x: Tensor | Tensor[]): Tensor {
    return this.convolve(one(this, x), conv2d);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), filters: this.filters, kernelInitializer: this.kernelInitializer };
  }
}

registerLayer(Conv2D);

/** Keras DepthwiseConv2D on NHWC inputs, kernel [kh, kw, c, multiplier]. */
export class DepthwiseConv2D extends ConvBase {
  static override readonly className = 'DepthwiseConv2D';
  readonly depthMultiplier: number;
  readonly depthwiseInitializer: InitializerName;

  constructor(args: DepthwiseConv2DArgs) {
    super(args);
    this.depthMultiplier = args.depthMultiplier ?? 1;
    if (!Number.isInteger(this.depthMultiplier) || this.depthMultiplier < 1) {
      throw new Error(`Graft DepthwiseConv2D '${this.name}': depthMultiplier must be a positive integer, got ${args.depthMultiplier}`);
    }
    this.depthwiseInitializer = args.depthwiseInitializer ?? 'glorotUniform';
  }

  protected outChannels(inChannels: number): number {
    return inChannels * this.depthMultiplier;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = this.inChannels(inputShape);
    this.kernel = this.addWeight('depthwise_kernel', [...this.kernelSize, c, this.depthMultiplier], this.depthwiseInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [c * this.depthMultiplier], this.biasInitializer);
  }

  call(x: Tensor | Tensor[]): Tensor {
    return this.convolve(one(this, x), depthwiseConv2d);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), depthMultiplier: this.depthMultiplier, depthwiseInitializer: this.depthwiseInitializer };
  }
}

registerLayer(DepthwiseConv2D);
