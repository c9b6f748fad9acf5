// Pool2D: max or average pooling with explicit ONNX pads [top, bottom, left, right] (padded positions never win a
// max and are left out of an average), which the Keras pooling layers ('valid'/'same' only) cannot express.

import { avgPool2d, maxPool2d, type PoolPadding } from '../../../ops/index.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { Layer, one, oneShape, shapeError, type LayerArgs, type LayerConfig } from '../../../nn/layer.js';
import { registerLayer } from '../../../nn/registry.js';
import type { Shape } from '../../../nn/symbolic.js';

/** Options of the Pool2D layer. */
export interface Pool2DArgs extends LayerArgs {
  mode: 'max' | 'avg';
  poolSize: [number, number];
  strides: [number, number];
  /** 'valid', 'same' (TensorFlow rule) or explicit [top, bottom, left, right]. */
  padding: 'valid' | 'same' | [number, number, number, number];
}

export class Pool2D extends Layer {
  static override readonly className = 'Pool2D';
  readonly mode: 'max' | 'avg';
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same' | [number, number, number, number];

  constructor(args: Pool2DArgs) {
    super(args);
    if (args.mode !== 'max' && args.mode !== 'avg') throw new Error(`Graft Pool2D '${this.name}': mode must be 'max' or 'avg', got '${args.mode}'`);
    this.mode = args.mode;
    this.poolSize = [args.poolSize[0], args.poolSize[1]];
    this.strides = [args.strides[0], args.strides[1]];
    const p = args.padding;
    this.padding = Array.isArray(p) ? [p[0], p[1], p[2], p[3]] : p;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    if (s.length !== 4) throw shapeError(this, 'expects NHWC input of rank 4', s);
    const [t, b, l, r] = Array.isArray(this.padding) ? this.padding : [0, 0, 0, 0];
    const size = (n: number | null, k: number, st: number, pads: number): number | null =>
      n === null ? null : this.padding === 'same' ? Math.ceil(n / st) : Math.floor((n + pads - k) / st) + 1;
    return [s[0]!, size(s[1]!, this.poolSize[0], this.strides[0], t + b), size(s[2]!, this.poolSize[1], this.strides[1], l + r), s[3]!];
  }

  call(x: Tensor | Tensor[]): Tensor {
    const op = this.mode === 'max' ? maxPool2d : avgPool2d;
    return op(one(this, x), { poolSize: this.poolSize, strides: this.strides, padding: this.padding as PoolPadding });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), mode: this.mode, poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

registerLayer(Pool2D);
