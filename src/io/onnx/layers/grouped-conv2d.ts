// GroupedConv2D: a convolution whose input channels split into `groups` independent convolutions (ONNX Conv with
// 1 < group < channels), run as one conv2d per group on channel slices and concatenated.

import { concat, conv2d, slice, type ConvPadding } from '../../../ops/index.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { Layer, shapeError, one, oneShape, type LayerArgs, type LayerConfig } from '../../../nn/layer.js';
import { registerLayer } from '../../../nn/registry.js';
import type { Shape } from '../../../nn/symbolic.js';
import type { Variable } from '../../../nn/variable.js';
import type { InitializerName } from '../../../nn/initializers.js';

/** Options of the GroupedConv2D layer. */
export interface GroupedConv2DArgs extends LayerArgs {
  filters: number;
  /** Channel groups; divides the input channels and `filters`. */
  groups: number;
  kernelSize: [number, number];
  /** Default [1, 1]. */
  strides?: [number, number];
  /** 'valid' (default), 'same' or explicit [top, bottom, left, right]. */
  padding?: 'valid' | 'same' | [number, number, number, number];
  /** Default [1, 1]. */
  dilationRate?: [number, number];
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerName;
}

/** Kernel [kh, kw, cin / groups, filters]; output channels j * filters/groups ... belong to group j. */
export class GroupedConv2D extends Layer {
  static override readonly className = 'GroupedConv2D';
  readonly filters: number;
  readonly groups: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same' | [number, number, number, number];
  readonly dilationRate: [number, number];
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerName;
  kernel: Variable | null = null;
  bias: Variable | null = null;

  constructor(args: GroupedConv2DArgs) {
    super(args);
    if (!Number.isInteger(args.groups) || args.groups < 1 || args.filters % args.groups !== 0) {
      throw new Error(`Graft GroupedConv2D '${this.name}': groups ${args.groups} must be a positive integer dividing filters ${args.filters}`);
    }
    this.filters = args.filters;
    this.groups = args.groups;
    this.kernelSize = [args.kernelSize[0], args.kernelSize[1]];
    this.strides = args.strides ? [args.strides[0], args.strides[1]] : [1, 1];
    const p = args.padding ?? 'valid';
    this.padding = Array.isArray(p) ? [p[0], p[1], p[2], p[3]] : p;
    this.dilationRate = args.dilationRate ? [args.dilationRate[0], args.dilationRate[1]] : [1, 1];
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
  }

  private inChannels(inputShape: Shape | Shape[]): number {
    const s = oneShape(this, inputShape);
    const c = s[3];
    if (s.length !== 4 || typeof c !== 'number') throw shapeError(this, 'expects NHWC input of rank 4 with known channels', s);
    if (c % this.groups !== 0) throw shapeError(this, `groups ${this.groups} must divide the input channels`, s);
    return c;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = this.inChannels(inputShape);
    this.kernel = this.addWeight('kernel', [...this.kernelSize, c / this.groups, this.filters], this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'zeros');
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    this.inChannels(s);
    const [t, b, l, r] = Array.isArray(this.padding) ? this.padding : [0, 0, 0, 0];
    const size = (n: number | null, k: number, st: number, d: number, pads: number): number | null =>
      n === null ? null : this.padding === 'same' ? Math.ceil(n / st) : Math.floor((n + pads - (k - 1) * d - 1) / st) + 1;
    return [
      s[0] ?? null,
      size(s[1] ?? null, this.kernelSize[0], this.strides[0], this.dilationRate[0], t + b),
      size(s[2] ?? null, this.kernelSize[1], this.strides[1], this.dilationRate[1], l + r),
      this.filters,
    ];
  }

  call(inputs: Tensor | Tensor[]): Tensor {
    const x = one(this, inputs);
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const k = this.kernel!.value;
    const cg = k.shape[2]!;
    if (c !== cg * this.groups) throw shapeError(this, `expects ${cg * this.groups} channels`, x.shape);
    const og = this.filters / this.groups;
    const [kh, kw] = this.kernelSize;
    const parts: Tensor[] = [];
    for (let g = 0; g < this.groups; g++) {
      const xg = slice(x, [0, 0, 0, g * cg], [n, h, w, cg]);
      const kg = slice(k, [0, 0, 0, g * og], [kh, kw, cg, og]);
      const bg = this.bias ? slice(this.bias.value, [g * og], [og]) : undefined;
      parts.push(conv2d(xg, kg, { strides: this.strides, padding: this.padding as ConvPadding, dilations: this.dilationRate, bias: bg }));
    }
    return parts.length === 1 ? parts[0]! : concat(parts, 3);
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      filters: this.filters, groups: this.groups, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding,
      dilationRate: this.dilationRate, useBias: this.useBias, kernelInitializer: this.kernelInitializer,
    };
  }
}

registerLayer(GroupedConv2D);
