// graft.applications.efficientNetB0: Keras' EfficientNetB0 with fresh weights, or with the weights of an ONNX file
// exported from torchvision (torch.onnx) or from Keras (tf2onnx), mapped onto the Keras-named layers.

import { OnnxError, type OnnxSource } from '../io/onnx/index.js';
import type { Model } from '../train/model.js';
import { buildEfficientNetB0 } from './efficientnet-b0-model.js';
import { b0Convs } from './efficientnet-b0-spec.js';
import { imagenetNormalization, initializeKernels, normalizationOfAffine } from './imagenet.js';
import { loadConvs, loadDense } from './load-weights.js';
import { readOnnxPlan } from './onnx-plan.js';
import type { Pads } from './padding.js';
import type { EfficientNetB0Options, KerasWeightsSource } from './efficientnet-b0-options.js';
import { isHdf5, MAX_HDF5_BYTES } from '../io/h5/hdf5.js';
import { efficientNetB0FromKerasH5, efficientNetB0Imagenet } from './efficientnet-b0-keras.js';
import { platform } from '../platform/platform.js';

export type { EfficientNetB0Options, KerasWeightsSource } from './efficientnet-b0-options.js';

const isKerasSource = (w: EfficientNetB0Options['weights']): w is KerasWeightsSource =>
  (w instanceof Uint8Array && isHdf5(w)) || w === 'imagenet' || (typeof w === 'string' && w.endsWith('.h5'));

/**
 * EfficientNet-B0 with Keras' layer names (input_1, rescaling, normalization, stem_conv, ...) and Keras' weights:
 * `await efficientNetB0({ weights: 'imagenet', includeTop: false })` fetches keras.applications' file once into the
 * cache; a `.h5` path (typed as ending in '.h5') or its bytes load that file. Both resolve to the Model.
 */
export function efficientNetB0(options: EfficientNetB0Options & { weights: KerasWeightsSource }): Promise<Model>;
/** EfficientNet-B0 with fresh weights or an ONNX file's, built at once. */
export function efficientNetB0(options?: EfficientNetB0Options & { weights?: string | ArrayBuffer | null }): Model;
export function efficientNetB0(options: EfficientNetB0Options = {}): Model | Promise<Model> {
  const includeTop = options.includeTop ?? true;
  const w = options.weights;
  if (isKerasSource(w)) return fromKeras(w, options);
  // NOTE: ONNX bytes are typed like .h5 bytes (a Uint8Array), so they resolve through a Promise too.
  if (w instanceof Uint8Array) return Promise.resolve().then(() => fromOnnx(w, options, includeTop));
  if (w) return fromOnnx(w, options, includeTop);
  const model = buildEfficientNetB0({
    inputShape: options.inputShape ?? [224, 224, 3], includeTop, classes: options.classes ?? 1000, pooling: options.pooling,
    classifierActivation: options.classifierActivation ?? 'softmax', normalization: imagenetNormalization(),
  });
  initializeKernels(model);
  return model;
}

async function fromKeras(w: KerasWeightsSource, options: EfficientNetB0Options): Promise<Model> {
  if (w === 'imagenet') return efficientNetB0Imagenet(options);
  if (w instanceof Uint8Array) return efficientNetB0FromKerasH5(w, 'the .h5 bytes', options);
  return efficientNetB0FromKerasH5(await platform().files.readFile(w, MAX_HDF5_BYTES), w, options);
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
