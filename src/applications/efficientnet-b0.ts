// graft.applications.efficientNetB0: Keras' EfficientNetB0 with fresh weights, or with the weights of an ONNX file
// exported from torchvision (torch.onnx) or from Keras (tf2onnx), mapped onto the Keras-named layers.

import { OnnxError, type OnnxSource } from '../io/onnx/index.js';
import type { ActivationName } from '../nn/index.js';
import type { Model } from '../train/model.js';
import { buildEfficientNetB0 } from './efficientnet-b0-model.js';
import { b0Convs } from './efficientnet-b0-spec.js';
import { imagenetNormalization, initializeKernels, normalizationOfAffine } from './imagenet.js';
import { loadConvs, loadDense } from './load-weights.js';
import { readOnnxPlan } from './onnx-plan.js';
import type { Pads } from './padding.js';

/** Options of efficientNetB0 (Keras' names). */
export interface EfficientNetB0Options {
  /**
   * null (default): fresh weights with Keras' initializers. A path: an ONNX EfficientNet-B0 whose weights are
   * loaded, with its padding; a torchvision file expects (x/255 - mean) / std on ImageNet's mean and std, a Keras
   * file carries its own Rescaling and Normalization; either way the model takes NHWC pixels in 0..255.
   */
  weights?: OnnxSource | null;
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
}

/** EfficientNet-B0 as a Graft Model with Keras' layer names (input_1, rescaling, normalization, stem_conv, ...). */
export function efficientNetB0(options: EfficientNetB0Options = {}): Model {
  const includeTop = options.includeTop ?? true;
  if (options.weights) return fromOnnx(options.weights, options, includeTop);
  const model = buildEfficientNetB0({
    inputShape: options.inputShape ?? [224, 224, 3], includeTop, classes: options.classes ?? 1000, pooling: options.pooling,
    classifierActivation: options.classifierActivation ?? 'softmax', normalization: imagenetNormalization(),
  });
  initializeKernels(model);
  return model;
}

function fromOnnx(path: OnnxSource, options: EfficientNetB0Options, includeTop: boolean): Model {
  const plan = readOnnxPlan(path, 'EfficientNet-B0');
  const file = plan.model.file;
  const targets = b0Convs();
  if (plan.convs.length !== targets.length) {
    throw new OnnxError({ file }, `has ${plan.convs.length} Conv nodes; EfficientNet-B0 has ${targets.length}`);
  }
  const pads = new Map<string, Pads>();
  const epsilons = new Map<string, number>();
  targets.forEach((t, i) => {
    const c = plan.convs[i]!;
    pads.set(t.name, c.pads);
    if (t.bn && c.bn) epsilons.set(t.bn, c.bn.epsilon);
  });
  let classes = options.classes ?? 1000;
  if (includeTop) {
    if (!plan.dense) throw new OnnxError({ file }, 'has no classifier (Gemm or MatMul); use includeTop: false');
    const fileClasses = plan.dense.kernel.dims[1]!;
    if (options.classes !== undefined && options.classes !== fileClasses) {
      throw new OnnxError({ file }, `classifies ${fileClasses} classes, not ${options.classes}; use includeTop: false for a new head`);
    }
    classes = fileClasses;
  }
  const normalization = plan.preprocess
    ? normalizationOfAffine(plan.preprocess.scale, plan.preprocess.offset, `efficientNetB0 ${file}`)
    : imagenetNormalization();
  const size = plan.inputSize ?? [224, 224];
  const model = buildEfficientNetB0({
    inputShape: options.inputShape ?? [size[0], size[1], 3], includeTop, classes, pooling: options.pooling,
    classifierActivation: options.classifierActivation ?? (plan.softmax ? 'softmax' : 'linear'),
    normalization, overrides: { pads, epsilons },
  });
  try {
    loadConvs(model, plan, targets.map((t) => ({ name: t.name, bn: t.bn, depthwise: t.depthwise })), plan.convs, 'EfficientNet-B0');
    if (includeTop) loadDense(model, 'predictions', plan.dense!.kernel, plan.dense!.bias, file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
