// Augmentation layers (Keras 3): active only when training, seeded from the stream in random.ts (so a resumed
// run draws the same augmentations), computed on the GPU by the ops in src/ops/augment.ts.

import {
  randomContrast, randomFlip, randomRotation, randomTranslation, randomZoom,
  type AffineFillMode, type AffineInterpolation,
} from '../../ops/augment.js';
import { deriveSeed, type AugmentFactor, type FlipMode } from '../../ops/augment-params.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, one, type CallContext, type LayerArgs, type LayerConfig } from '../layer.js';
import { nextSeed } from '../random.js';
import { registerLayer } from '../registry.js';

/** Options shared by augmentation layers. */
export interface AugmentArgs extends LayerArgs {
  /** Mixed into every call's seed; the per-call part comes from the global stream (setSeed). */
  seed?: number;
}

/** Options of the resampling augmentations (rotation, zoom, translation). */
export interface AffineAugmentArgs extends AugmentArgs {
  /** Default 'reflect'. */
  fillMode?: AffineFillMode;
  /** Default 'bilinear'. */
  interpolation?: AffineInterpolation;
  /** Default 0. */
  fillValue?: number;
}

abstract class Augment extends Layer {
  readonly seed: number | undefined;

  constructor(args: AugmentArgs) {
    super(args);
    this.seed = args.seed;
  }

  protected abstract augment(x: Tensor, seed: number): Tensor;

  call(inputs: Tensor | Tensor[], ctx: CallContext): Tensor {
    const x = one(this, inputs);
    if (!ctx.training) return x;
    return this.augment(x, deriveSeed(this.seed ?? 0, nextSeed()));
  }

  override getConfig(): LayerConfig {
    const c = super.getConfig();
    if (this.seed !== undefined) c.seed = this.seed;
    return c;
  }
}

abstract class AffineAugment extends Augment {
  readonly fillMode: AffineFillMode;
  readonly interpolation: AffineInterpolation;
  readonly fillValue: number;

  constructor(args: AffineAugmentArgs) {
    super(args);
    this.fillMode = args.fillMode ?? 'reflect';
    this.interpolation = args.interpolation ?? 'bilinear';
    this.fillValue = args.fillValue ?? 0;
  }

  protected get affine() {
    return { fillMode: this.fillMode, interpolation: this.interpolation, fillValue: this.fillValue };
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), ...this.affine };
  }
}

/** Options of randomFlip(). */
export interface RandomFlipArgs extends AugmentArgs {
  /** Default 'horizontal_and_vertical'. */
  mode?: FlipMode;
}

/** Keras RandomFlip: random horizontal and/or vertical flips, in training only. */
export class RandomFlip extends Augment {
  static override readonly className = 'RandomFlip';
  readonly mode: FlipMode;

  constructor(args: RandomFlipArgs = {}) {
    super(args);
    this.mode = args.mode ?? 'horizontal_and_vertical';
  }

  protected augment(x: Tensor, seed: number): Tensor {
    return randomFlip(x, { mode: this.mode, seed });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), mode: this.mode };
  }
}

/** Options of randomRotation(). */
export interface RandomRotationArgs extends AffineAugmentArgs {
  /** Fraction of a full turn (0.1: up to ±36 degrees) or [lower, upper]. */
  factor: AugmentFactor;
}

/** Keras RandomRotation: random rotation by a fraction of a full turn, in training only. */
export class RandomRotation extends AffineAugment {
  static override readonly className = 'RandomRotation';
  readonly factor: AugmentFactor;

  constructor(args: RandomRotationArgs) {
    super(args);
    this.factor = args.factor;
  }

  protected augment(x: Tensor, seed: number): Tensor {
    return randomRotation(x, { ...this.affine, factor: this.factor, seed });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), factor: this.factor };
  }
}

/** Options of randomZoom(). */
export interface RandomZoomArgs extends AffineAugmentArgs {
  heightFactor: AugmentFactor;
  widthFactor?: AugmentFactor;
}

/** Keras RandomZoom: random zoom in or out, in training only. */
export class RandomZoom extends AffineAugment {
  static override readonly className = 'RandomZoom';
  readonly heightFactor: AugmentFactor;
  readonly widthFactor: AugmentFactor | undefined;

  constructor(args: RandomZoomArgs) {
    super(args);
    this.heightFactor = args.heightFactor;
    this.widthFactor = args.widthFactor;
  }

  protected augment(x: Tensor, seed: number): Tensor {
    return randomZoom(x, { ...this.affine, heightFactor: this.heightFactor, widthFactor: this.widthFactor, seed });
  }

  override getConfig(): LayerConfig {
    const c: LayerConfig = { ...super.getConfig(), heightFactor: this.heightFactor };
    if (this.widthFactor !== undefined) c.widthFactor = this.widthFactor;
    return c;
  }
}

/** Options of randomTranslation(). */
export interface RandomTranslationArgs extends AffineAugmentArgs {
  heightFactor: AugmentFactor;
  widthFactor: AugmentFactor;
}

/** Keras RandomTranslation: random shifts by a fraction of height and width, in training only. */
export class RandomTranslation extends AffineAugment {
  static override readonly className = 'RandomTranslation';
  readonly heightFactor: AugmentFactor;
  readonly widthFactor: AugmentFactor;

  constructor(args: RandomTranslationArgs) {
    super(args);
    this.heightFactor = args.heightFactor;
    this.widthFactor = args.widthFactor;
  }

  protected augment(x: Tensor, seed: number): Tensor {
    return randomTranslation(x, { ...this.affine, heightFactor: this.heightFactor, widthFactor: this.widthFactor, seed });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), heightFactor: this.heightFactor, widthFactor: this.widthFactor };
  }
}

/** Options of randomContrast(). */
export interface RandomContrastArgs extends AugmentArgs {
  factor: AugmentFactor;
  /** Outputs are clipped to this range (Keras 3 default [0, 255]); null: unclipped. */
  valueRange?: [number, number] | null;
}

/** Keras RandomContrast: random contrast scaling per image, in training only. */
export class RandomContrast extends Augment {
  static override readonly className = 'RandomContrast';
  readonly factor: AugmentFactor;
  readonly valueRange: [number, number] | null;

  constructor(args: RandomContrastArgs) {
    super(args);
    this.factor = args.factor;
    this.valueRange = args.valueRange === undefined ? [0, 255] : args.valueRange;
  }

  protected augment(x: Tensor, seed: number): Tensor {
    return randomContrast(x, { factor: this.factor, valueRange: this.valueRange, seed });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), factor: this.factor, valueRange: this.valueRange };
  }
}

for (const c of [RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast]) registerLayer(c);
