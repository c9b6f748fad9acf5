// EfficientNet-B0 from Keras' HDF5 weights: a `.h5` file (bytes) or keras.applications' ImageNet files fetched into
// the model file cache. The model takes 0..255 pixels and normalizes inside, as Keras' does.

import { loadKerasWeights, readKerasWeights } from '../io/h5/index.js';
import { Normalization } from '../nn/index.js';
import type { Model } from '../train/model.js';
import { buildEfficientNetB0 } from './efficientnet-b0-model.js';
import type { EfficientNetB0Options } from './efficientnet-b0-options.js';
import { IMAGENET_STD, imagenetNormalization } from './imagenet.js';
import { EFFICIENTNET_B0_NOTOP, EFFICIENTNET_B0_TOP } from './keras-files.js';
import { defaultModelFileCache } from './model-file-cache.js';

/** What the file says before its weights are loaded. */
interface B0FileFacts {
  /** Outputs of its predictions layer, or null without one. */
  classes: number | null;
  /** Whether its normalization stores ImageNet's standard deviation as variance (see stdAsVariance). */
  stdAsVariance: boolean;
}

const f32 = (x: number) => Math.fround(x);

/**
 * keras.applications' ImageNet B0 files store the normalization's variance as ImageNet's std, and Keras (2.10+)
 * follows the layer with Rescaling(1/sqrt(std)) (`rescaling_1`) for those weights; the two give (x - mean) / std.
 * A file is taken to use that convention when it lists `rescaling_1` or its variance is exactly float32(std).
 */
function readFacts(bytes: Uint8Array, label: string): Promise<B0FileFacts> {
  return readKerasWeights(bytes, label, (index, read) => {
    const pred = index.layers.find((l) => l.name === 'predictions');
    const kernel = pred?.weights.find((w) => w.path === 'kernel');
    const norm = index.layers.find((l) => l.name === 'normalization');
    const variance = norm?.weights.find((w) => w.path === 'variance');
    const v = variance && variance.shape.length === 1 && variance.shape[0] === 3 ? read('normalization', variance) : null;
    const stdValues = v !== null && IMAGENET_STD.every((s, i) => v[i] === f32(s));
    return {
      classes: kernel && kernel.shape.length === 2 ? kernel.shape[1]! : null,
      stdAsVariance: stdValues || index.layerNames.includes('rescaling_1'),
    };
  });
}

/**
 * B0 with the weights of a Keras `.h5` (keras.applications layout, or save_weights of a Keras EfficientNetB0);
 * `label` names the file in errors. `imagenet` marks keras.applications' ImageNet file.
 */
export async function efficientNetB0FromKerasH5(bytes: Uint8Array, label: string, options: EfficientNetB0Options, imagenet = false): Promise<Model> {
  const includeTop = options.includeTop ?? true;
  const facts = await readFacts(bytes, label);
  let classes = options.classes ?? 1000;
  if (includeTop) {
    if (facts.classes === null) throw new Error(`Graft efficientNetB0: ${label} has no 'predictions' layer; use includeTop: false`);
    if (options.classes !== undefined && options.classes !== facts.classes) {
      throw new Error(`Graft efficientNetB0: ${label} classifies ${facts.classes} classes, not ${options.classes}; use includeTop: false for a new head`);
    }
    classes = facts.classes;
  }
  const model = buildEfficientNetB0({
    inputShape: options.inputShape ?? [224, 224, 3], includeTop, classes, pooling: options.pooling,
    classifierActivation: options.classifierActivation ?? 'softmax', normalization: imagenetNormalization(),
  });
  try {
    // NOTE: by name, so that a with-top file also serves includeTop: false; every layer of the model must be loaded.
    const report = await loadKerasWeights(model, bytes, label, { byName: true });
    const loaded = new Set(report.loaded);
    const missing = model.layers.filter((l) => l.weights.length > 0 && !loaded.has(l.name)).map((l) => l.name);
    if (missing.length > 0) throw new Error(`Graft efficientNetB0: ${label} has no weights for layer(s) ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`);
    if (imagenet || facts.stdAsVariance) {
      // Porting note: Keras' extra Rescaling(1/sqrt(std)) is folded into the variance (v * std; std^2 for Keras' file), keeping the 237 layers of weights=None.
      const norm = model.getLayer('normalization') as Normalization;
      const v = await norm.variance!.read();
      norm.variance!.write(v.map((x, i) => x * IMAGENET_STD[i]!));
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** B0 with keras.applications' ImageNet weights, fetched into the cache on first use. */
export async function efficientNetB0Imagenet(options: EfficientNetB0Options): Promise<Model> {
  const includeTop = options.includeTop ?? true;
  if (includeTop && options.classes !== undefined && options.classes !== 1000) {
    throw new Error(`Graft efficientNetB0: weights 'imagenet' with includeTop: true classify 1000 classes, not ${options.classes}; use includeTop: false for a new head`);
  }
  const file = includeTop ? EFFICIENTNET_B0_TOP : EFFICIENTNET_B0_NOTOP;
  const cache = options.cache ?? defaultModelFileCache();
  const bytes = await cache.get(file);
  return efficientNetB0FromKerasH5(bytes, cache.locate(file), options, true);
}
