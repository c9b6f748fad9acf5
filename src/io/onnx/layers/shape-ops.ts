// ConstantPad (any axes, any constant) and ReduceMean (any axes): ONNX Pad and ReduceMean where the Keras
// layers (ZeroPadding2D, GlobalAveragePooling2D) do not fit.

import { mean, pad } from '../../../ops/index.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { Layer, one, oneShape, shapeError, type LayerArgs, type LayerConfig } from '../../../nn/layer.js';
import { legacyKeepDims } from '../../../nn/layers/pooling.js';
import { registerLayer } from '../../../nn/registry.js';
import type { Shape } from '../../../nn/symbolic.js';
import { axisIndex } from './axes.js';

/** Options of the ConstantPad layer. */
export interface ConstantPadArgs extends LayerArgs {
  /** [before, after] per axis, batch axis included. */
  paddings: [number, number][];
  /** Fill value; default 0. */
  value?: number;
}

export class ConstantPad extends Layer {
  static override readonly className = 'ConstantPad';
  readonly paddings: [number, number][];
  readonly value: number;

  constructor(args: ConstantPadArgs) {
    super(args);
    if (!args.paddings.every((p) => p.length === 2 && p.every((v) => Number.isInteger(v) && v >= 0))) {
      throw new Error(`Graft ConstantPad '${this.name}': paddings ${JSON.stringify(args.paddings)} must be [before, after] pairs of integers >= 0`);
    }
    this.paddings = args.paddings.map((p) => [p[0], p[1]]);
    this.value = args.value ?? 0;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    if (s.length !== this.paddings.length) throw shapeError(this, `paddings are for rank ${this.paddings.length}`, s);
    return s.map((d, i) => (d === null ? null : d + this.paddings[i]![0] + this.paddings[i]![1]));
  }

  call(x: Tensor | Tensor[]): Tensor {
    return pad(one(this, x), this.paddings, this.value);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), paddings: this.paddings, value: this.value };
  }
}

/** Options of the ReduceMean layer. */
export interface ReduceMeanArgs extends LayerArgs {
  /** Axes to average over, batch axis included. */
  axes: number[];
  /** Keep reduced axes as size 1 (default true, as ONNX's keepdims). */
  keepDims?: boolean;
}

export class ReduceMean extends Layer {
  static override readonly className = 'ReduceMean';
  readonly axes: number[];
  readonly keepDims: boolean;

  constructor(args: ReduceMeanArgs) {
    super(args);
    this.axes = [...args.axes];
    this.keepDims = args.keepDims ?? true;
  }

  /** Reads configs saved before the option was named keepDims (`keepdims`, in older checkpoints) too. */
  static override fromConfig(config: Record<string, unknown>): Layer {
    return new ReduceMean(legacyKeepDims(config) as never);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    const axes = this.axes.map((a) => axisIndex(this, a, s));
    return s.flatMap((d, i) => (axes.includes(i) ? (this.keepDims ? [1] : []) : [d]));
  }

  call(x: Tensor | Tensor[]): Tensor {
    const t = one(this, x);
    return mean(t, this.axes.map((a) => axisIndex(this, a, t.shape)), { keepDims: this.keepDims });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), axes: this.axes, keepDims: this.keepDims };
  }
}

registerLayer(ConstantPad);
registerLayer(ReduceMean);
