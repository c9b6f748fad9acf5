// Stateless core layers: activation, dropout, flatten, reshape, rescaling.

import { affine, greater, mul, reshape, fullLike } from '../../ops/index.js';
import { randomUniform, type Tensor } from '../../tensor/tensor.js';
import { sizeOf } from '../../tensor/shape.js';
import { activate, checkActivation, type ActivationName } from '../activations.js';
import { Layer, one, oneShape, shapeError, type CallContext, type LayerArgs, type LayerConfig } from '../layer.js';
import { nextSeed } from '../random.js';
import { registerLayer } from '../registry.js';
import type { Shape } from '../symbolic.js';

/** Options of activation(). */
export interface ActivationArgs extends LayerArgs {
  activation: ActivationName;
}

/** Keras Activation: applies a named activation. */
export class Activation extends Layer {
  static override readonly className = 'Activation';
  readonly activation: ActivationName;

  constructor(args: ActivationArgs) {
    super(args);
    this.activation = checkActivation(`Activation '${this.name}'`, args.activation);
  }

  call(x: Tensor | Tensor[]): Tensor {
    return activate(this.activation, one(this, x));
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), activation: this.activation };
  }
}

/** Options of dropout(). */
export interface DropoutArgs extends LayerArgs {
  /** Fraction of inputs to drop, in [0, 1). */
  rate: number;
  /** Shape of the mask, broadcast over the input; null takes the input's size (e.g. [null, 1, 1, 1] drops whole examples). */
  noiseShape?: (number | null)[];
}

/** Keras Dropout: zeroes a fraction `rate` of the inputs and scales the rest, in training only. */
export class Dropout extends Layer {
  static override readonly className = 'Dropout';
  readonly rate: number;
  readonly noiseShape: (number | null)[] | undefined;

  constructor(args: DropoutArgs) {
    super(args);
    this.noiseShape = args.noiseShape;
    if (!(args.rate >= 0 && args.rate < 1)) throw new Error(`Graft Dropout '${this.name}': rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
  }

  call(inputs: Tensor | Tensor[], ctx: CallContext): Tensor {
    const x = one(this, inputs);
    if (!ctx.training || this.rate === 0) return x;
    // Porting note: the mask is drawn on the CPU from the seeded stream (so checkpoints capture it) and uploaded.
    const maskShape = this.noiseShape ? this.noiseShape.map((d, i) => d ?? x.shape[i]!) : x.shape;
    if (maskShape.length !== x.rank) {
      throw new Error(`Graft Dropout '${this.name}': noiseShape [${this.noiseShape}] does not match input rank ${x.rank}`);
    }
    const u = randomUniform(maskShape, 0, 1, { seed: nextSeed(), device: x.device });
    const keep = greater(u, fullLike(u, this.rate));
    const scaled = affine(keep, 1 / (1 - this.rate), 0);
    return mul(x, scaled);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), rate: this.rate, ...(this.noiseShape ? { noiseShape: this.noiseShape } : {}) };
  }
}

/** Keras Flatten: [batch, ...] → [batch, product]. */
export class Flatten extends Layer {
  static override readonly className = 'Flatten';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    const rest = s.slice(1);
    return [s[0] ?? null, rest.some((d) => d === null) ? null : sizeOf(rest as number[])];
  }

  call(x: Tensor | Tensor[]): Tensor {
    const t = one(this, x);
    return reshape(t, [t.shape[0]!, -1]);
  }
}

/** Options of reshape(). */
export interface ReshapeArgs extends LayerArgs {
  /** Shape of one example (without the batch); one entry may be -1. */
  targetShape: number[];
}

/** Keras Reshape: reshapes each example to `targetShape`. */
export class Reshape extends Layer {
  static override readonly className = 'Reshape';
  readonly targetShape: number[];

  constructor(args: ReshapeArgs) {
    super(args);
    this.targetShape = [...args.targetShape];
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(this, inputShape);
    const known = s.slice(1);
    if (known.some((d) => d === null)) return [s[0] ?? null, ...this.targetShape.map((d) => (d === -1 ? null : d))];
    const n = sizeOf(known as number[]);
    const fixed = this.targetShape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    const out = this.targetShape.map((d) => (d === -1 ? n / fixed : d));
    if (sizeOf(out) !== n || !out.every(Number.isInteger)) throw shapeError(this, `cannot reshape to [${this.targetShape.join(',')}]`, s);
    return [s[0] ?? null, ...out];
  }

  call(x: Tensor | Tensor[]): Tensor {
    const t = one(this, x);
    return reshape(t, [t.shape[0]!, ...this.targetShape]);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), targetShape: this.targetShape };
  }
}

/** Options of rescaling(). */
export interface RescalingArgs extends LayerArgs {
  /** y = x * scale + offset. */
  scale: number;
  /** Default 0. */
  offset?: number;
}

/** Keras Rescaling: x · scale + offset. */
export class Rescaling extends Layer {
  static override readonly className = 'Rescaling';
  readonly scale: number;
  readonly offset: number;

  constructor(args: RescalingArgs) {
    super(args);
    this.scale = args.scale;
    this.offset = args.offset ?? 0;
  }

  call(x: Tensor | Tensor[]): Tensor {
    return affine(one(this, x), this.scale, this.offset);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), scale: this.scale, offset: this.offset };
  }
}

for (const c of [Activation, Dropout, Flatten, Reshape, Rescaling]) registerLayer(c);
