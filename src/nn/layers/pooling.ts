// Pooling and padding layers on NHWC inputs: global average, max and average pooling, zero padding.

import { avgPool2d, globalAvgPool, maxPool2d, pad } from '../../ops/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, one, oneShape, shapeError, type LayerArgs, type LayerConfig } from '../layer.js';
import { registerLayer } from '../registry.js';
import type { Shape } from '../symbolic.js';

/** A layer config with `keepdims` (the name before keepDims) renamed to keepDims. */
export function legacyKeepDims(config: Record<string, unknown>): Record<string, unknown> {
  const { keepdims, ...rest } = config;
  return keepdims === undefined || 'keepDims' in rest ? config : { ...rest, keepDims: keepdims };
}

function rank4(layer: Layer, inputShape: Shape | Shape[]): Shape {
  const s = oneShape(layer, inputShape);
  if (s.length !== 4) throw shapeError(layer, 'expects NHWC input of rank 4', s);
  return s;
}

/** Options of globalAveragePooling2d(). */
export interface GlobalPoolingArgs extends LayerArgs {
  /** Keep H and W as size 1 (default false). */
  keepDims?: boolean;
}

/** Keras GlobalAveragePooling2D: the mean over H and W of NHWC inputs. */
export class GlobalAveragePooling2D extends Layer {
  static override readonly className = 'GlobalAveragePooling2D';
  readonly keepDims: boolean;

  constructor(args: GlobalPoolingArgs = {}) {
    super(args);
    this.keepDims = args.keepDims ?? false;
  }

  /** Reads configs saved before the option was named keepDims (`keepdims`, in older checkpoints) too. */
  static override fromConfig(config: Record<string, unknown>): Layer {
    return new GlobalAveragePooling2D(legacyKeepDims(config) as GlobalPoolingArgs);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = rank4(this, inputShape);
    return this.keepDims ? [s[0]!, 1, 1, s[3]!] : [s[0]!, s[3]!];
  }

  call(x: Tensor | Tensor[]): Tensor {
    return globalAvgPool(one(this, x), { keepDims: this.keepDims });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), keepDims: this.keepDims };
  }
}

/** Options of maxPooling2d() and averagePooling2d(). */
export interface Pooling2DArgs extends LayerArgs {
  /** Default 2. */
  poolSize?: number | [number, number];
  /** Default: poolSize. */
  strides?: number | [number, number];
  /** Default 'valid'. */
  padding?: 'valid' | 'same';
}

abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  protected abstract readonly op: typeof maxPool2d;

  constructor(args: Pooling2DArgs = {}) {
    super(args);
    const p = args.poolSize ?? 2;
    this.poolSize = typeof p === 'number' ? [p, p] : [p[0], p[1]];
    const s = args.strides ?? this.poolSize;
    this.strides = typeof s === 'number' ? [s, s] : [s[0], s[1]];
    this.padding = args.padding ?? 'valid';
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = rank4(this, inputShape);
    const size = (n: number | null, k: number, st: number) =>
      n === null ? null : this.padding === 'same' ? Math.ceil(n / st) : Math.floor((n - k) / st) + 1;
    return [s[0]!, size(s[1]!, this.poolSize[0], this.strides[0]), size(s[2]!, this.poolSize[1], this.strides[1]), s[3]!];
  }

  call(x: Tensor | Tensor[]): Tensor {
    return this.op(one(this, x), { poolSize: this.poolSize, strides: this.strides, padding: this.padding });
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

/** Keras MaxPooling2D on NHWC inputs. */
export class MaxPooling2D extends Pooling2D {
  static override readonly className = 'MaxPooling2D';
  protected readonly op = maxPool2d;
}

/** Keras AveragePooling2D on NHWC inputs (padding excluded from the mean). */
export class AveragePooling2D extends Pooling2D {
  static override readonly className = 'AveragePooling2D';
  protected readonly op = avgPool2d;
}

/** Options of zeroPadding2d(). */
export interface ZeroPadding2DArgs extends LayerArgs {
  /** n (all sides), [h, w] (symmetric), or [[top, bottom], [left, right]]. Default 1. */
  padding?: number | [number, number] | [[number, number], [number, number]];
}

/** Keras ZeroPadding2D: zero rows and columns around H and W. */
export class ZeroPadding2D extends Layer {
  static override readonly className = 'ZeroPadding2D';
  readonly padding: [[number, number], [number, number]];

  constructor(args: ZeroPadding2DArgs = {}) {
    super(args);
    const p = args.padding ?? 1;
    if (typeof p === 'number') this.padding = [[p, p], [p, p]];
    else if (typeof p[0] === 'number') this.padding = [[p[0], p[0]], [p[1] as number, p[1] as number]];
    else this.padding = [[...p[0]], [...(p[1] as [number, number])]] as [[number, number], [number, number]];
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = rank4(this, inputShape);
    const [[t, b], [l, r]] = this.padding;
    return [s[0]!, s[1] === null ? null : s[1]! + t + b, s[2] === null ? null : s[2]! + l + r, s[3]!];
  }

  call(x: Tensor | Tensor[]): Tensor {
    const [[t, b], [l, r]] = this.padding;
    return pad(one(this, x), [[0, 0], [t, b], [l, r], [0, 0]]);
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), padding: this.padding };
  }
}

for (const c of [GlobalAveragePooling2D, MaxPooling2D, AveragePooling2D, ZeroPadding2D]) registerLayer(c);
