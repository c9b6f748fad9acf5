// Which pretrained base the workflow uses: EfficientNet-B0 when its ONNX file exists, else the pretrained
// MobileNetV2; the choice comes with a sentence saying why.

import { existsSync } from 'node:fs';
import { efficientNetB0, mobileNetV2 } from '../../src/applications/index.js';
import type { Model } from '../../src/train/model.js';

/** The chosen base. */
export interface BaseChoice {
  /** Architecture. */
  kind: 'efficientnet-b0' | 'mobilenet-v2';
  /** The ONNX file its weights come from. */
  weights: string;
  /** One sentence: why this base. */
  reason: string;
}

/** EfficientNet-B0 when `efficientNetWeights` exists, else MobileNetV2 from `mobileNetWeights`; throws when neither does. */
export function chooseBase(efficientNetWeights: string, mobileNetWeights: string): BaseChoice {
  if (existsSync(efficientNetWeights)) {
    return { kind: 'efficientnet-b0', weights: efficientNetWeights, reason: `${efficientNetWeights} exists` };
  }
  if (existsSync(mobileNetWeights)) {
    return {
      kind: 'mobilenet-v2', weights: mobileNetWeights,
      reason: `${efficientNetWeights} is absent (weights/README.md says how to export it), so the ImageNet-pretrained MobileNetV2 from ${mobileNetWeights} is used`,
    };
  }
  throw new Error(`no pretrained base: neither ${efficientNetWeights} nor ${mobileNetWeights} exists (see weights/README.md)`);
}

/** The base without its top, for square images of `size` pixels (it takes 0..255 RGB and rescales inside). */
export function buildBase(choice: BaseChoice, size: number): Model {
  const inputShape: [number, number, number] = [size, size, 3];
  return choice.kind === 'efficientnet-b0'
    ? efficientNetB0({ weights: choice.weights, includeTop: false, inputShape })
    : mobileNetV2({ weights: choice.weights, includeTop: false, inputShape });
}
