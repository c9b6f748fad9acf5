// Softmax along one axis (Keras' Softmax layer; ONNX Softmax from opset 13, and older ones on their last axis).

import { softmax } from '../../../ops/index.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { Layer, one, oneShape, type LayerArgs, type LayerConfig } from '../../../nn/layer.js';
import { registerLayer } from '../../../nn/registry.js';
import type { Shape } from '../../../nn/symbolic.js';
import { axisIndex } from './axes.js';

/** Options of the Softmax layer. */
export interface SoftmaxArgs extends LayerArgs {
  /** Axis, counting the batch as 0; default -1. */
  axis?: number;
}

export class Softmax extends Layer {
  static override readonly className = 'Softmax';
  readonly axis: number;

  constructor(args: SoftmaxArgs = {}) {
    super(args);
    this.axis = args.axis ?? -1;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    axisIndex(this, this.axis, s);
    return s;
  }

  call(x: Tensor | Tensor[]): Tensor {
    const t = one(this, x);
    return softmax(t, axisIndex(this, this.axis, t.shape));
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), axis: this.axis };
  }
}

registerLayer(Softmax);
