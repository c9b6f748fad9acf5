// Merge layers: element-wise add and multiply of several same-shape inputs (residual and squeeze-excite joins).

import { add, mul } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, isShapeList, shapeError, type LayerArgs } from '../layer.js';
import { registerLayer } from '../registry.js';
import { formatSymbolic, type Shape } from '../symbolic.js';

abstract class Merge extends Layer {
  protected abstract combine(a: Tensor, b: Tensor): Tensor;

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    if (!isShapeList(inputShape) || inputShape.length < 2) throw shapeError(this, 'needs a list of at least 2 inputs', isShapeList(inputShape) ? inputShape[0] ?? [] : inputShape);
    const rank = Math.max(...inputShape.map((x) => x.length));
    const out: Shape = [];
    for (let i = 0; i < rank; i++) {
      const dims = inputShape.map((x) => x[x.length - rank + i]).filter((d) => d !== undefined);
      const known = [...new Set(dims.filter((d): d is number => d !== null && d !== 1))];
      if (known.length > 1) throw shapeError(this, `inputs ${inputShape.map((x) => formatSymbolic(x)).join(', ')} cannot be broadcast`, inputShape[0]!);
      out.push(known.length === 1 ? known[0]! : dims.includes(null) ? null : 1);
    }
    return out;
  }

  call(inputs: Tensor | Tensor[]): Tensor {
    if (!Array.isArray(inputs) || inputs.length < 2) throw new Error(`Graft ${this.className} '${this.name}': needs a list of at least 2 inputs`);
    let acc = this.combine(inputs[0]!, inputs[1]!);
    for (const t of inputs.slice(2)) acc = this.combine(acc, t);
    return acc;
  }
}

/** Keras Add: the elementwise sum of its inputs. */
export class Add extends Merge {
  static override readonly className = 'Add';
  protected combine(a: Tensor, b: Tensor): Tensor {
    return add(a, b);
  }
}

/** Keras Multiply: the elementwise product of its inputs. */
export class Multiply extends Merge {
  static override readonly className = 'Multiply';
  protected combine(a: Tensor, b: Tensor): Tensor {
    return mul(a, b);
  }
}

registerLayer(Add);
registerLayer(Multiply);

/** Options of add() and multiply(). */
export type MergeArgs = LayerArgs;
