// ConstantArithmetic: x (op) c or c (op) x with a fixed broadcastable constant (ONNX Add/Sub/Mul/Div with an
// initializer operand, e.g. tf2onnx's Normalization as Sub and Div by per-channel constants).

import { add, div, mul, sub } from '../../../ops/index.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { Layer, one, oneShape, shapeError, type LayerArgs, type LayerConfig } from '../../../nn/layer.js';
import { registerLayer } from '../../../nn/registry.js';
import type { Shape } from '../../../nn/symbolic.js';
import type { Variable } from '../../../nn/variable.js';

/** Arithmetic ops of the elementwise layers. */
export type ArithmeticOp = 'add' | 'sub' | 'mul' | 'div';

export const ARITHMETIC: Record<ArithmeticOp, (a: Tensor, b: Tensor) => Tensor> = { add, sub, mul, div };

/** Options of the ConstantArithmetic layer. */
export interface ConstantArithmeticArgs extends LayerArgs {
  op: ArithmeticOp;
  /** Shape of the constant, broadcast NumPy-style against the input (batch axis included). */
  constantShape: number[];
  /** Its row-major values. */
  constant: number[];
  /** Compute c (op) x instead of x (op) c. */
  reversed?: boolean;
}

export class ConstantArithmetic extends Layer {
  static override readonly className = 'ConstantArithmetic';
  readonly op: ArithmeticOp;
  readonly constantShape: number[];
  readonly constant: number[];
  readonly reversed: boolean;
  /** The constant as a non-trainable weight (so it lives on the GPU with the layer). */
  value: Variable | null = null;

  constructor(args: ConstantArithmeticArgs) {
    super(args);
    if (!(args.op in ARITHMETIC)) throw new Error(`Graft ConstantArithmetic '${this.name}': unknown op '${args.op}'`);
    const n = args.constantShape.reduce((p, d) => p * d, 1);
    if (n !== args.constant.length) {
      throw new Error(`Graft ConstantArithmetic '${this.name}': ${args.constant.length} values for shape [${args.constantShape.join(',')}]`);
    }
    this.op = args.op;
    this.constantShape = [...args.constantShape];
    this.constant = [...args.constant];
    this.reversed = args.reversed ?? false;
  }

  override build(inputShape: Shape | Shape[]): void {
    oneShape(this, inputShape);
    this.value = this.addWeight('constant', this.constantShape, 'zeros', false);
    this.value.write(Float32Array.from(this.constant));
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    const c = this.constantShape;
    const rank = Math.max(s.length, c.length);
    const out: Shape = [];
    for (let i = 0; i < rank; i++) {
      const a = i < rank - s.length ? 1 : s[i - (rank - s.length)]!;
      const b = i < rank - c.length ? 1 : c[i - (rank - c.length)]!;
      if (a !== null && a !== 1 && b !== 1 && a !== b) throw shapeError(this, `constant [${c.join(',')}] does not broadcast`, s);
      out.push(b === 1 ? a : b);
    }
    return out;
  }

  call(x: Tensor | Tensor[]): Tensor {
    const t = one(this, x);
    const c = this.value!.value;
    return this.reversed ? ARITHMETIC[this.op](c, t) : ARITHMETIC[this.op](t, c);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), op: this.op, constantShape: this.constantShape, constant: this.constant, reversed: this.reversed };
  }
}

registerLayer(ConstantArithmetic);
