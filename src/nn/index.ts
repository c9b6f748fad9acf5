// src/nn: layers, symbolic tensors and the Functional container.

export * as layers from './factories.js';
export { Layer, type LayerArgs, type CallContext, type ApplyOptions, type LayerConfig } from './layer.js';
export { Functional, type FunctionalArgs, type SequentialArgs } from './functional.js';
export { SymbolicTensor, Node as GraphNode } from './layer.js';
export type { Shape } from './symbolic.js';
export { Variable } from './variable.js';
export { setFusion, fusionEnabled } from './fusion.js';
export { input, InputLayer, type InputArgs } from './layers/input.js';
export { Dense, type DenseArgs } from './layers/dense.js';
export { Conv2D, DepthwiseConv2D, type Conv2DArgs, type DepthwiseConv2DArgs, type ConvLayerPadding } from './layers/conv.js';
export { BatchNormalization, Normalization, type BatchNormalizationArgs, type NormalizationArgs } from './layers/normalization.js';
export { Activation, Dropout, Flatten, Reshape, Rescaling, type ActivationArgs, type DropoutArgs, type ReshapeArgs, type RescalingArgs } from './layers/core.js';
export {
  GlobalAveragePooling2D, MaxPooling2D, AveragePooling2D, ZeroPadding2D, type GlobalPoolingArgs, type Pooling2DArgs, type ZeroPadding2DArgs,
} from './layers/pooling.js';
export { Add, Multiply } from './layers/merge.js';
export {
  RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast,
  type RandomFlipArgs, type RandomRotationArgs, type RandomZoomArgs, type RandomTranslationArgs, type RandomContrastArgs,
} from './layers/augment.js';
export { registerLayer, deserializeLayer, type LayerClass } from './registry.js';
export { setSeed, getRngState, setRngState } from './random.js';
export type { ActivationName } from './activations.js';
export type { InitializerName } from './initializers.js';
