// Which pretrained base the workflow uses, as the Keras tutorial does: EfficientNet-B0 with Keras' ImageNet weights
// when they are cached or can be downloaded (or a B0 ONNX file when the user put one in weights/), else the
// pretrained MobileNetV2; the choice comes with a sentence saying why.

import { existsSync } from 'node:fs';
import { EFFICIENTNET_B0_NOTOP, efficientNetB0, mobileNetV2, type ModelFileCache } from '../../src/applications/index.js';
import { nodeModelFileCache } from '../../src/node/model-cache.js';
import type { Model } from '../../src/train/model.js';

/** The chosen base. */
export interface BaseChoice {
  /** Architecture. */
  kind: 'efficientnet-b0' | 'mobilenet-v2';
  /** The ONNX file its weights come from, or 'imagenet' for Keras' B0 weights in the model file cache. */
  weights: string;
  /** One sentence: why this base. */
  reason: string;
}

/**
 * EfficientNet-B0 from `efficientNetWeights` (an ONNX file) when it exists, else B0 with Keras' ImageNet weights
 * when `cache` has them or can fetch them, else MobileNetV2 from `mobileNetWeights`; throws when none is there.
 */
export async function chooseBase(efficientNetWeights: string, mobileNetWeights: string, cache: ModelFileCache = nodeModelFileCache()): Promise<BaseChoice> {
  if (existsSync(efficientNetWeights)) {
    return { kind: 'efficientnet-b0', weights: efficientNetWeights, reason: `${efficientNetWeights} exists` };
  }
  const where = cache.locate(EFFICIENTNET_B0_NOTOP);
  let why: string;
  try {
    await cache.get(EFFICIENTNET_B0_NOTOP);
    return { kind: 'efficientnet-b0', weights: 'imagenet', reason: `Keras' ImageNet weights are at ${where}, as in the Keras tutorial` };
  } catch (e) {
    why = (e as Error).message.replace(/^Graft: /, '');
  }
  if (existsSync(mobileNetWeights)) {
    return {
      kind: 'mobilenet-v2', weights: mobileNetWeights,
      reason: `${efficientNetWeights} is absent and Keras' EfficientNet-B0 ImageNet weights are not available (${why}), so the ImageNet-pretrained MobileNetV2 from ${mobileNetWeights} is used`,
    };
  }
  throw new Error(`no pretrained base: ${efficientNetWeights} is absent, Keras' EfficientNet-B0 ImageNet weights are not available (${why}) and ${mobileNetWeights} does not exist`);
}

/** The base without its top, for square images of `size` pixels (it takes 0..255 RGB and rescales inside). */
export async function buildBase(choice: BaseChoice, size: number, cache?: ModelFileCache): Promise<Model> {
  const inputShape: [number, number, number] = [size, size, 3];
  if (choice.kind === 'mobilenet-v2') return mobileNetV2({ weights: choice.weights, includeTop: false, inputShape });
  return choice.weights === 'imagenet'
    ? efficientNetB0({ weights: 'imagenet', includeTop: false, inputShape, cache })
    : efficientNetB0({ weights: choice.weights, includeTop: false, inputShape });
}
