// graft.applications: pretrained-architecture builders with Keras' layer names.

export { efficientNetB0, type EfficientNetB0Options, type KerasWeightsSource } from './efficientnet-b0.js';
export {
  defaultModelFileCache, ModelDownloadError, setDefaultModelFileCache, type ModelFile, type ModelFileCache,
} from './model-file-cache.js';
export { EFFICIENTNET_B0_NOTOP, EFFICIENTNET_B0_TOP, IMAGENET_CLASS_INDEX } from './keras-files.js';
export { imagenetClassNames, parseImagenetClassIndex } from './imagenet-classes.js';
export { mobileNetV2, type MobileNetV2Options } from './mobilenet-v2.js';
export { IMAGENET_MEAN, IMAGENET_STD } from './imagenet.js';
