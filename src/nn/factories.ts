// The `layers` namespace: tfjs-style factories, `layers.dense({units: 10})`.

import { Dense, type DenseArgs } from './layers/dense.js';
import { Conv2D, DepthwiseConv2D, type Conv2DArgs, type DepthwiseConv2DArgs } from './layers/conv.js';
import { BatchNormalization, Normalization, type BatchNormalizationArgs, type NormalizationArgs } from './layers/normalization.js';
import { Activation, Dropout, Flatten, Reshape, Rescaling, type ActivationArgs, type DropoutArgs, type ReshapeArgs, type RescalingArgs } from './layers/core.js';
import {
  AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D, ZeroPadding2D,
  type GlobalPoolingArgs, type Pooling2DArgs, type ZeroPadding2DArgs,
} from './layers/pooling.js';
import { Add, Multiply, type MergeArgs } from './layers/merge.js';
import {
  RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
  type RandomContrastArgs, type RandomFlipArgs, type RandomRotationArgs, type RandomTranslationArgs, type RandomZoomArgs,
} from './layers/augment.js';
import type { LayerArgs } from './layer.js';

export { input } from './layers/input.js';
export const dense = (a: DenseArgs) => new Dense(a);
export const conv2d = (a: Conv2DArgs) => new Conv2D(a);
export const depthwiseConv2d = (a: DepthwiseConv2DArgs) => new DepthwiseConv2D(a);
export const batchNormalization = (a: BatchNormalizationArgs = {}) => new BatchNormalization(a);
export const normalization = (a: NormalizationArgs = {}) => new Normalization(a);
export const activation = (a: ActivationArgs) => new Activation(a);
export const dropout = (a: DropoutArgs) => new Dropout(a);
export const flatten = (a: LayerArgs = {}) => new Flatten(a);
export const reshape = (a: ReshapeArgs) => new Reshape(a);
export const rescaling = (a: RescalingArgs) => new Rescaling(a);
export const globalAveragePooling2d = (a: GlobalPoolingArgs = {}) => new GlobalAveragePooling2D(a);
export const maxPooling2d = (a: Pooling2DArgs = {}) => new MaxPooling2D(a);
export const averagePooling2d = (a: Pooling2DArgs = {}) => new AveragePooling2D(a);
export const zeroPadding2d = (a: ZeroPadding2DArgs = {}) => new ZeroPadding2D(a);
export const add = (a: MergeArgs = {}) => new Add(a);
export const multiply = (a: MergeArgs = {}) => new Multiply(a);
export const randomFlip = (a: RandomFlipArgs = {}) => new RandomFlip(a);
export const randomRotation = (a: RandomRotationArgs) => new RandomRotation(a);
export const randomZoom = (a: RandomZoomArgs) => new RandomZoom(a);
export const randomTranslation = (a: RandomTranslationArgs) => new RandomTranslation(a);
export const randomContrast = (a: RandomContrastArgs) => new RandomContrast(a);
