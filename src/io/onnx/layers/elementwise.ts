// Elementwise layers the Keras set lacks: two-input Subtract/Divide (broadcasting), clip and parametric
// hard-sigmoid, and a two-input matmul.

import { clip, hardSigmoid, matmul } from '../../../ops/index.js';
import type { Tensor } from '../../../tensor/tensor.js';
import { Layer, isShapeList, one, shapeError, type LayerArgs, type LayerConfig } from '../../../nn/layer.js';
import { registerLayer } from '../../../nn/registry.js';
import { formatSymbolic, type Shape } from '../../../nn/symbolic.js';
import { ARITHMETIC, type ArithmeticOp } from './constant-arithmetic.js';

/** Options of the ElementwiseBinary layer. */
export interface ElementwiseBinaryArgs extends LayerArgs {
  op: ArithmeticOp;
}

/** NumPy broadcast of two symbolic shapes; null where unknown. */
function broadcastShape(layer: Layer, a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    const x = i < rank - a.length ? 1 : a[i - (rank - a.length)]!;
    const y = i < rank - b.length ? 1 : b[i - (rank - b.length)]!;
    if (x !== null && y !== null && x !== 1 && y !== 1 && x !== y) throw shapeError(layer, `inputs ${formatSymbolic(a)} and ${formatSymbolic(b)} cannot be broadcast`, a);
    out.push(x === 1 ? y : y === 1 ? x : (x ?? y));
  }
  return out;
}

function twoShapes(layer: Layer, s: Shape | Shape[]): [Shape, Shape] {
  if (!isShapeList(s) || s.length !== 2) throw shapeError(layer, 'needs a list of 2 inputs', isShapeList(s) ? s[0] ?? [] : s);
  return [s[0]!, s[1]!];
}

function twoTensors(layer: Layer, x: Tensor | Tensor[]): [Tensor, Tensor] {
  if (!Array.isArray(x) || x.length !== 2) throw new Error(`Graft ${layer.className} '${layer.name}': needs a list of 2 inputs`);
  return [x[0]!, x[1]!];
}

export class ElementwiseBinary extends Layer {
  static override readonly className = 'ElementwiseBinary';
  readonly op: ArithmeticOp;

  constructor(args: ElementwiseBinaryArgs) {
    super(args);
    if (!(args.op in ARITHMETIC)) throw new Error(`Graft ElementwiseBinary '${this.name}': unknown op '${args.op}'`);
    this.op = args.op;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [a, b] = twoShapes(this, inputShape);
    return broadcastShape(this, a, b);
  }

  call(x: Tensor | Tensor[]): Tensor {
    const [a, b] = twoTensors(this, x);
    return ARITHMETIC[this.op](a, b);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), op: this.op };
  }
}

/** Options of the ScalarActivation layer. */
export interface ScalarActivationArgs extends LayerArgs {
  /** 'clip': min(max(x, alpha), beta); 'hardSigmoid': max(0, min(1, alpha * x + beta)). */
  op: 'clip' | 'hardSigmoid';
  alpha: number;
  beta: number;
}

export class ScalarActivation extends Layer {
  static override readonly className = 'ScalarActivation';
  readonly op: 'clip' | 'hardSigmoid';
  readonly alpha: number;
  readonly beta: number;

  constructor(args: ScalarActivationArgs) {
    super(args);
    if (args.op !== 'clip' && args.op !== 'hardSigmoid') throw new Error(`Graft ScalarActivation '${this.name}': unknown op '${args.op}'`);
    this.op = args.op;
    this.alpha = args.alpha;
    this.beta = args.beta;
  }

  call(x: Tensor | Tensor[]): Tensor {
    const t = one(this, x);
    return this.op === 'clip' ? clip(t, this.alpha, this.beta) : hardSigmoid(t, this.alpha, this.beta);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), op: this.op, alpha: this.alpha, beta: this.beta };
  }
}

/** A matmul of two computed inputs [..., M, K] x [..., K, N] (ONNX MatMul without a constant operand). */
export class MatMul extends Layer {
  static override readonly className = 'MatMul';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [a, b] = twoShapes(this, inputShape);
    if (a.length < 2 || b.length < 2) throw shapeError(this, 'needs inputs of rank 2 or more', a);
    const k1 = a[a.length - 1];
    const k2 = b[b.length - 2];
    if (k1 !== null && k2 !== null && k1 !== k2) throw shapeError(this, `inner dimensions differ: ${formatSymbolic(a)} x ${formatSymbolic(b)}`, a);
    return [...broadcastShape(this, a.slice(0, -2), b.slice(0, -2)), a[a.length - 2]!, b[b.length - 1]!];
  }

  call(x: Tensor | Tensor[]): Tensor {
    const [a, b] = twoTensors(this, x);
    return matmul(a, b);
  }
}

for (const c of [ElementwiseBinary, ScalarActivation, MatMul]) registerLayer(c);
