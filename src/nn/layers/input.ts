// The input layer and `input()`, which returns the symbolic tensor a functional model starts from.

import type { Tensor } from '../../tensor/tensor.js';
import { Layer, Node, SymbolicTensor, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import type { Shape } from '../symbolic.js';

/** Options of `input()`. */
export interface InputArgs {
  /** Shape of one example, without the batch dimension (e.g. [224, 224, 3]). */
  shape: number[];
  /** Fixed batch size (default: any). */
  batchSize?: number;
  dtype?: 'float32' | 'int32';
  name?: string;
}

/** The layer behind `input()`: the start of a functional graph. */
export class InputLayer extends Layer {
  static override readonly className = 'InputLayer';
  readonly batchShape: Shape;
  readonly dtype: 'float32' | 'int32';
  /** The symbolic tensor this layer produces. */
  readonly output: SymbolicTensor;

  constructor(args: InputArgs & Omit<LayerArgs, 'dtype'>) {
    super({ name: args.name, trainable: args.trainable });
    this.batchShape = [args.batchSize ?? null, ...args.shape];
    this.dtype = args.dtype ?? 'float32';
    this.built = true;
    const node = new Node(this, [], false, undefined);
    node.outputs = [new SymbolicTensor(this.batchShape, this.dtype, node, 0)];
    this.inboundNodes.push(node);
    this.output = node.outputs[0]!;
  }

  call(x: Tensor | Tensor[]): Tensor | Tensor[] {
    return x;
  }

  override getConfig(): LayerConfig {
    const shape = this.batchShape.slice(1) as number[];
    const c: LayerConfig = { ...super.getConfig(), shape, dtype: this.dtype };
    if (this.batchShape[0] !== null) c.batchSize = this.batchShape[0];
    return c;
  }
}

registerLayer(InputLayer);

/** A symbolic input: `const x = input({shape: [32, 32, 3]})`. */
export function input(args: InputArgs): SymbolicTensor {
  return new InputLayer(args).output;
}
