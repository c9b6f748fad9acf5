// The tutorial's classifier around a pretrained base: augmentation inside the model, the frozen base pinned to
// inference mode, global average pooling, dropout, and a softmax Dense head.

import { input, layers } from '../../src/nn/index.js';
import { model, type Model } from '../../src/train/model.js';

/**
 * image (0..255 RGB) -> RandomFlip(horizontal) -> RandomRotation(0.1) -> RandomZoom(0.1) -> base(training: false)
 * -> GlobalAveragePooling2D -> Dropout(0.2) -> Dense(classes, softmax). Freezes the base (base.trainable = false).
 */
export function buildClassifier(base: Model, size: number, classes: number): Model {
  base.trainable = false;
  const inputs = input({ shape: [size, size, 3], name: 'image' });
  let x = layers.randomFlip({ mode: 'horizontal', name: 'random_flip' }).apply(inputs);
  x = layers.randomRotation({ factor: 0.1, name: 'random_rotation' }).apply(x);
  x = layers.randomZoom({ heightFactor: 0.1, name: 'random_zoom' }).apply(x);
  // NOTE: training: false keeps the base's BatchNormalization in inference mode, also once it is unfrozen (Keras).
  x = base.apply(x, { training: false });
  x = layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x);
  x = layers.dropout({ rate: 0.2, name: 'dropout' }).apply(x);
  const outputs = layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x);
  return model({ inputs, outputs, name: 'transfer_classifier' });
}
