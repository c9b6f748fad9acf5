// Dense: y = activation(x · kernel + bias), kernel [in, units]; the bias and common activations fuse into matmul.

import { matmul, reshape, type MatmulActivationName } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { activate, checkActivation, type ActivationName } from '../activations.js';
import type { InitializerName } from '../initializers.js';
import { Layer, one, oneShape, shapeError, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import type { Shape } from '../symbolic.js';
import type { Variable } from '../variable.js';

/** Options of dense(). */
export interface DenseArgs extends LayerArgs {
  units: number;
  activation?: ActivationName;
  /** Default true. */
  useBias?: boolean;
  /** Default 'glorotUniform'. */
  kernelInitializer?: InitializerName;
  /** Default 'zeros'. */
  biasInitializer?: InitializerName;
}

const FUSED = new Set<string>(['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'silu']);

/** Keras Dense: activation(x · kernel + bias), kernel [in, out]. */
export class Dense extends Layer {
  static override readonly className = 'Dense';
  readonly units: number;
  readonly activation: ActivationName;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerName;
  readonly biasInitializer: InitializerName;
  kernel: Variable | null = null;
  bias: Variable | null = null;

  constructor(args: DenseArgs) {
    super(args);
    if (!Number.isInteger(args.units) || args.units < 1) throw new Error(`Graft Dense '${this.name}': units must be a positive integer, got ${args.units}`);
    this.units = args.units;
    this.activation = checkActivation(`Dense '${this.name}'`, args.activation);
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
    this.biasInitializer = args.biasInitializer ?? 'zeros';
  }

  override build(inputShape: Shape | Shape[]): void {
    const s = oneShape(this, inputShape);
    const inDim = s[s.length - 1];
    if (s.length < 2 || typeof inDim !== 'number') throw shapeError(this, 'needs a known last dimension and rank >= 2', s);
    this.kernel = this.addWeight('kernel', [inDim, this.units], this.kernelInitializer);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], this.biasInitializer);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    return [...s.slice(0, -1), this.units];
  }

  call(inputs: Tensor | Tensor[]): Tensor {
    const x = one(this, inputs);
    const k = this.kernel!.value;
    if (x.shape[x.rank - 1] !== k.shape[0]) throw shapeError(this, `expects last dimension ${k.shape[0]}`, x.shape);
    const fused = FUSED.has(this.activation);
    const opts = { bias: this.bias?.value, activation: (fused ? this.activation : 'linear') as MatmulActivationName };
    if (x.rank === 2) {
      const y = matmul(x, k, opts);
      return fused ? y : activate(this.activation, y);
    }
    const flat = reshape(x, [-1, k.shape[0]!]);
    const y2 = matmul(flat, k, opts);
    const y = reshape(fused ? y2 : activate(this.activation, y2), [...x.shape.slice(0, -1), this.units]);
    return y;
  }

  override getConfig(): LayerConfig {
    return {
      ...super.getConfig(),
      units: this.units, activation: this.activation, useBias: this.useBias,
      kernelInitializer: this.kernelInitializer, biasInitializer: this.biasInitializer,
    };
  }
}

registerLayer(Dense);
