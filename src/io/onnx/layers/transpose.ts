// Transpose: permutes every axis, the batch axis included (ONNX Transpose, and the layout moves the importer needs).

import { transpose } from '../../../ops/index.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { Layer, one, oneShape, shapeError, type LayerArgs, type LayerConfig } from '../../../nn/layer.js';
import { registerLayer } from '../../../nn/registry.js';
import type { Shape } from '../../../nn/symbolic.js';
import { isPermutation } from './axes.js';

/** Options of the Transpose layer. */
export interface TransposeArgs extends LayerArgs {
  /** Output axis i is input axis perm[i]; axis 0 is the batch. */
  perm: number[];
}

export class Transpose extends Layer {
  static override readonly className = 'Transpose';
  readonly perm: number[];

  constructor(args: TransposeArgs) {
    super(args);
    if (!isPermutation(args.perm)) throw new Error(`Graft Transpose '${this.name}': perm [${args.perm.join(',')}] is not a permutation`);
    this.perm = [...args.perm];
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    if (s.length !== this.perm.length) throw shapeError(this, `perm [${this.perm.join(',')}] needs rank ${this.perm.length}`, s);
    return this.perm.map((p) => s[p] ?? null);
  }

  call(x: Tensor | Tensor[]): Tensor {
    return transpose(one(this, x), this.perm);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), perm: this.perm };
  }
}

registerLayer(Transpose);
