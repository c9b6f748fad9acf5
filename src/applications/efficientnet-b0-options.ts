// The options of efficientNetB0, in a file of their own so that the builders behind it share them without a cycle.

import type { ActivationName } from '../nn/index.js';
import type { ModelFileCache } from './model-file-cache.js';

/** Options of efficientNetB0 (Keras' names). */
export interface EfficientNetB0Options {
  /**
   * null (default): fresh weights with Keras' initializers. A path: an ONNX EfficientNet-B0 whose weights are
   * loaded, with its padding; a torchvision file expects (x/255 - mean) / std on ImageNet's mean and std, a Keras
   * file carries its own Rescaling and Normalization; either way the model takes NHWC pixels in 0..255.
   * 'imagenet', a Keras `.h5` path or the bytes of one: Keras' HDF5 weights, loaded asynchronously (a Promise);
   * bytes (a Uint8Array) are told apart by their signature and always give a Promise.
   */
  weights?: string | Uint8Array | ArrayBuffer | null;
  /** Keep avg_pool, top_dropout and the predictions layer (default true). */
  includeTop?: boolean;
  /** [height, width, 3]; default the file's input size, else [224, 224, 3]. */
  inputShape?: [number, number, number];
  /** Classes of the predictions layer; default 1000, or the file's classifier size (which it must equal). */
  classes?: number;
  /** Without top: 'avg' ends with global average pooling ('max' has no Graft layer yet). */
  pooling?: 'avg';
  /** Activation of predictions; default 'softmax', or for a file 'softmax' only when the file ends with one. */
  classifierActivation?: ActivationName;
  /** Where weights: 'imagenet' is kept; default the platform's (Node: $GRAFT_HOME/models, browser: Cache Storage). */
  cache?: ModelFileCache;
}

/** Weights that load asynchronously: Keras' ImageNet file, a Keras `.h5` path, or `.h5` bytes. */
export type KerasWeightsSource = 'imagenet' | `${string}.h5` | Uint8Array;
