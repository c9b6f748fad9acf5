// ImageNet input statistics and the fresh-weight initialization shared by the applications.

import { Conv2D, Dense, DepthwiseConv2D } from '../nn/index.js';
import type { Model } from '../train/model.js';
import { CONV_KERNEL_INIT, DENSE_KERNEL_INIT, varianceScaling, type VarianceScaling } from './keras-init.js';

/** RGB mean and standard deviation of ImageNet pixels scaled to [0, 1] (torchvision's and Keras' constants). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Normalization statistics for pixels x in 0..255 scaled by 1/255: (x/255 - mean) / sqrt(variance). */
export interface PixelNormalization {
  mean: number[];
  variance: number[];
}

/** ImageNet's normalization. */
export function imagenetNormalization(): PixelNormalization {
  return { mean: [...IMAGENET_MEAN], variance: IMAGENET_STD.map((s) => s * s) };
}

/**
 * The normalization equal to a per-channel y = x * scale + offset on 0..255 pixels (what a file applies to its
 * input): sigma = 1 / (255 scale), mean = -offset sigma.
 */
export function normalizationOfAffine(scale: number[], offset: number[], where: string): PixelNormalization {
  if (scale.some((s) => !(s > 0))) throw new Error(`Graft ${where}: input scaling [${scale.join(', ')}] is not a positive normalization`);
  const sigma = scale.map((s) => 1 / (255 * s));
  return { mean: offset.map((b, i) => -b * sigma[i]!), variance: sigma.map((s) => s * s) };
}

/** Writes Keras' VarianceScaling kernels into every conv and dense layer of a freshly built model. */
export function initializeKernels(model: Model, conv: VarianceScaling = CONV_KERNEL_INIT, dense: VarianceScaling = DENSE_KERNEL_INIT): void {
  for (const l of model.layers) {
    if (l instanceof Conv2D || l instanceof DepthwiseConv2D) l.kernel!.write(varianceScaling(l.kernel!.shape, conv));
    else if (l instanceof Dense) l.kernel!.write(varianceScaling(l.kernel!.shape, dense));
  }
}
