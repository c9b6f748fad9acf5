// The Keras application files Graft fetches, with Keras' md5 hashes (keras/applications/efficientnet.py,
// imagenet_utils.py).

import type { ModelFile } from './model-file-cache.js';

const KERAS_APPLICATIONS = 'https://storage.googleapis.com/keras-applications/';

/** EfficientNet-B0 ImageNet weights without the classifier (Keras' `include_top=False`). */
export const EFFICIENTNET_B0_NOTOP: ModelFile = {
  name: 'efficientnetb0_notop.h5', url: `${KERAS_APPLICATIONS}efficientnetb0_notop.h5`,
  md5: '50bc09e76180e00e4465e1a485ddc09d', bytes: 16_705_208,
};

/** EfficientNet-B0 ImageNet weights with the 1000-class classifier. */
export const EFFICIENTNET_B0_TOP: ModelFile = {
  name: 'efficientnetb0.h5', url: `${KERAS_APPLICATIONS}efficientnetb0.h5`, md5: '902e53a9f72be733fc0bcb005b3ebbac',
};

/** Keras' ImageNet class index (`decode_predictions`): {"0": ["n01440764", "tench"], ...}. */
export const IMAGENET_CLASS_INDEX: ModelFile = {
  name: 'imagenet_class_index.json',
  url: 'https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json',
  md5: 'c2c37ea517e94d9795004a39431a14cb',
};
