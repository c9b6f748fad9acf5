// BatchNormalization (Keras semantics: batch statistics and moving-statistics updates only when training and
// trainable) and Normalization (fixed or adapted per-channel mean and variance).

import { batchNormInference, batchNormTrain, div, maximum, fullLike, mean as meanOp, scaleShift, sqrt, square, sub, updateMovingStats } from '../../ops/index.js';
import type { ChannelActivation } from '../../ops/batchnorm.js';
import { keep, noGrad, tidy } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, one, oneShape, shapeError, type CallContext, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import type { Shape } from '../symbolic.js';
import type { Variable } from '../variable.js';

/** Options of batchNormalization(). */
export interface BatchNormalizationArgs extends LayerArgs {
  /** Default 0.99. */
  momentum?: number;
  /** Default 1e-3. */
  epsilon?: number;
  /** Learn beta (default true). */
  center?: boolean;
  /** Learn gamma (default true). */
  scale?: boolean;
}

function channels(layer: Layer, inputShape: Shape | Shape[]): number {
  const s = oneShape(layer, inputShape);
  const c = s[s.length - 1];
  if (s.length < 2 || typeof c !== 'number') throw shapeError(layer, 'needs a known last (channel) dimension', s);
  return c;
}

/** Keras BatchNormalization: batch statistics when training and trainable, moving statistics otherwise. */
export class BatchNormalization extends Layer {
  static override readonly className = 'BatchNormalization';
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  gamma: Variable | null = null;
  beta: Variable | null = null;
  movingMean: Variable | null = null;
  movingVariance: Variable | null = null;

  constructor(args: BatchNormalizationArgs = {}) {
    super(args);
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = channels(this, inputShape);
    if (this.scale) this.gamma = this.addWeight('gamma', [c], 'ones');
    if (this.center) this.beta = this.addWeight('beta', [c], 'zeros');
    this.movingMean = this.addWeight('moving_mean', [c], 'zeros', false);
    this.movingVariance = this.addWeight('moving_variance', [c], 'ones', false);
  }

  call(inputs: Tensor | Tensor[], ctx: CallContext): Tensor {
    return this.normalize(one(this, inputs), ctx);
  }

  /**
   * The layer's output followed by `activation` (default 'linear'), in one pass each way: the activation is fused
   * into the batch-norm kernels on batch statistics (training) and on moving statistics (inference mode).
   * Fusion (src/nn/fusion.ts) calls it for a BN → Activation pair; it updates the moving statistics as call does.
   */
  normalize(x: Tensor, ctx: CallContext, activation: ChannelActivation = 'linear'): Tensor {
    const c = this.movingMean!.shape[0];
    if (x.shape[x.rank - 1] !== c) throw shapeError(this, `expects ${c} channels`, x.shape);
    const gamma = this.gamma?.value ?? null;
    const beta = this.beta?.value ?? null;
    const movingMean = this.movingMean!.value;
    const movingVar = this.movingVariance!.value;
    // NOTE: Keras: a frozen BN (its own flag or a container's) runs in inference mode even while training.
    if (!(ctx.training && this.trainable && !ctx.frozen)) {
      return batchNormInference(x, movingMean, movingVar, gamma, beta, this.epsilon, activation);
    }
    const { y, mean, variance } = batchNormTrain(x, gamma, beta, this.epsilon, activation);
    updateMovingStats(movingMean, mean, this.momentum);
    updateMovingStats(movingVar, variance, this.momentum);
    this.movingMean!.markChanged();
    this.movingVariance!.markChanged();
    mean.dispose();
    variance.dispose();
    return y;
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon, center: this.center, scale: this.scale };
  }
}

/** Options of normalization(). */
export interface NormalizationArgs extends LayerArgs {
  /** Per-channel mean (a number applies to every channel); default: set by adapt() (0 before). */
  mean?: number | number[];
  /** Per-channel variance; default: set by adapt() (1 before). */
  variance?: number | number[];
}

/** Keras Normalization: (x - mean) / sqrt(variance), with statistics given or computed by adapt(). */
export class Normalization extends Layer {
  static override readonly className = 'Normalization';
  readonly initMean: number | number[] | undefined;
  readonly initVariance: number | number[] | undefined;
  mean: Variable | null = null;
  variance: Variable | null = null;
  /** Samples seen by adapt(), as Keras keeps it (a non-trainable scalar weight). */
  count: Variable | null = null;
  /** The cached affine of affineAfter(), keyed by the statistics' versions and the pre-affine. */
  private folded: { key: string; scale: Tensor; shift: Tensor } | null = null;

  constructor(args: NormalizationArgs = {}) {
    super(args);
    this.initMean = args.mean;
    this.initVariance = args.variance;
  }

  override build(inputShape: Shape | Shape[]): void {
    const c = channels(this, inputShape);
    this.mean = this.addWeight('mean', [c], 'zeros', false);
    this.variance = this.addWeight('variance', [c], 'ones', false);
    this.count = this.addWeight('count', [], 'zeros', false);
    const fill = (v: number | number[] | undefined, w: Variable) => {
      if (v === undefined) return;
      const vals = typeof v === 'number' ? new Array<number>(c).fill(v) : v;
      if (vals.length !== c) throw new Error(`Graft Normalization '${this.name}': ${vals.length} values for ${c} channels`);
      w.write(Float32Array.from(vals));
    };
    fill(this.initMean, this.mean);
    fill(this.initVariance, this.variance);
  }

  /** Sets mean and variance per channel from `data` (all axes but the last are reduced). */
  adapt(data: Tensor): void {
    this.ensureBuilt([null, ...data.shape.slice(1)]);
    noGrad(() =>
      tidy(() => {
        const axes = [...Array(data.rank - 1).keys()];
        const m = meanOp(data, axes);
        const v = meanOp(square(sub(data, m)), axes);
        this.mean!.assign(m);
        this.variance!.assign(v);
      }),
    );
    this.count!.write(Float32Array.of(data.size / data.shape[data.rank - 1]!));
  }

  call(inputs: Tensor | Tensor[]): Tensor {
    const x = one(this, inputs);
    const c = this.mean!.shape[0];
    if (x.shape[x.rank - 1] !== c) throw shapeError(this, `expects ${c} channels`, x.shape);
    const { scale, shift } = this.affineAfter();
    return scaleShift(x, scale, shift);
  }

  /**
   * The per-channel scale and shift that equal this layer applied to x * preScale + preOffset (fusion merges a
   * Rescaling before it this way): one scaleShift pass instead of five ops. Cached until the statistics change.
   */
  affineAfter(preScale = 1, preOffset = 0): { scale: Tensor; shift: Tensor } {
    const key = `${this.mean!.version},${this.variance!.version},${preScale},${preOffset}`;
    if (this.folded?.key === key) return this.folded;
    this.dropFolded();
    const { scale, shift } = noGrad(() =>
      tidy(() => {
        const std = sqrt(this.variance!.value);
        // NOTE: Keras divides by max(sqrt(variance), epsilon) so a constant channel does not blow up.
        const safe = maximum(std, fullLike(std, 1e-7));
        return { scale: div(fullLike(safe, preScale), safe), shift: div(sub(fullLike(safe, preOffset), this.mean!.value), safe) };
      }),
    );
    this.folded = { key, scale: keep(scale), shift: keep(shift) };
    return this.folded;
  }

  private dropFolded(): void {
    this.folded?.scale.dispose();
    this.folded?.shift.dispose();
    this.folded = null;
  }

  override dispose(): void {
    this.dropFolded();
    super.dispose();
  }

  override getConfig(): LayerConfig {
    const c: LayerConfig = super.getConfig();
    if (this.initMean !== undefined) c.mean = this.initMean;
    if (this.initVariance !== undefined) c.variance = this.initVariance;
    return c;
  }
}

registerLayer(BatchNormalization);
registerLayer(Normalization);
