// Concatenate: joins inputs along one axis (Keras' Concatenate; ONNX Concat).

import { concat } from '../../../ops/index.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { Layer, isShapeList, shapeError, type LayerArgs, type LayerConfig } from '../../../nn/layer.js';
import { registerLayer } from '../../../nn/registry.js';
import { formatSymbolic, type Shape } from '../../../nn/symbolic.js';
import { axisIndex } from './axes.js';

/** Options of the Concatenate layer. */
export interface ConcatenateArgs extends LayerArgs {
  /** Axis, counting the batch as 0; default -1. */
  axis?: number;
}

export class Concatenate extends Layer {
  static override readonly className = 'Concatenate';
  readonly axis: number;

  constructor(args: ConcatenateArgs = {}) {
    super(args);
    this.axis = args.axis ?? -1;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    if (!isShapeList(inputShape) || inputShape.length < 1) throw shapeError(this, 'needs a list of inputs', isShapeList(inputShape) ? [] : inputShape);
    const first = inputShape[0]!;
    const a = axisIndex(this, this.axis, first);
    const bad = inputShape.some((s) => s.length !== first.length || s.some((d, i) => i !== a && d !== null && first[i] !== null && d !== first[i]));
    if (bad) throw shapeError(this, `inputs ${inputShape.map((s) => formatSymbolic(s)).join(', ')} differ outside axis ${this.axis}`, first);
    const along = inputShape.map((s) => s[a] ?? null);
    return first.map((d, i) => (i !== a ? d : along.includes(null) ? null : (along as number[]).reduce((p, q) => p + q, 0)));
  }

  call(inputs: Tensor | Tensor[]): Tensor {
    const xs = Array.isArray(inputs) ? inputs : [inputs];
    return concat(xs, axisIndex(this, this.axis, xs[0]!.shape));
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), axis: this.axis };
  }
}

registerLayer(Concatenate);
