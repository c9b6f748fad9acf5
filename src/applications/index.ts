// graft.applications: pretrained-architecture builders with Keras' layer names.

export { efficientNetB0, type EfficientNetB0Options } from './efficientnet-b0.js';
export { mobileNetV2, type MobileNetV2Options } from './mobilenet-v2.js';
export { IMAGENET_MEAN, IMAGENET_STD } from './imagenet.js';
