// Writing imported constants into a built layer's weights (float32, with the shape checked).

import type { Variable } from '../../../nn/variable.js';
import type { OnnxNode, OnnxTensor } from '../model.js';
import type { ImportContext } from './context.js';

/** Values of a constant as float32. */
export function floatValues(t: OnnxTensor): Float32Array {
  return t.values instanceof Float32Array ? t.values : Float32Array.from(t.values as ArrayLike<number>, Number);
}

/** Writes values into a layer weight; a size mismatch is an error naming the node. */
export function setWeight(ctx: ImportContext, node: OnnxNode, v: Variable | null, values: Float32Array, what: string): void {
  if (!v) return ctx.fail(node, `internal: layer has no ${what} weight`);
  if (v.value.size !== values.length) {
    return ctx.fail(node, `${what} has ${values.length} values, the layer expects [${v.shape.join(',')}]`);
  }
  v.write(values);
}
