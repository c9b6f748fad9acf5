// graft.applications.mobileNetV2: Keras' MobileNetV2 (alpha 1.0) with the weights of an ONNX MobileNetV2 (e.g. the
// ImageNet-pretrained ../shared/weights/mobilenet_v2_1.0_224.onnx: NCHW input in [-1, 1], BN folded into conv
// biases, Clip(0, 6) activations, a 1x1-conv 1001-class softmax head), as a model that takes NHWC pixels in 0..255.

import { OnnxError, denseKernel, type OnnxSource } from '../io/onnx/index.js';
import { input, layers, type ActivationName, type InitializerName, type SymbolicTensor } from '../nn/index.js';
import { Model } from '../train/model.js';
import { loadConvs, loadDense, type ConvTarget } from './load-weights.js';
import { readOnnxPlan, type OnnxPlan } from './onnx-plan.js';
import { convPadding, correctPad, spatial, type FileOverrides, type Pads } from './padding.js';

/** Where the demo finds the pretrained file, relative to the working directory (the repository root). */
export const MOBILENET_V2_WEIGHTS = '../shared/weights/mobilenet_v2_1.0_224.onnx';

/** Options of mobileNetV2 (Keras' names). */
export interface MobileNetV2Options {
  /** An ONNX MobileNetV2 file: a path (Node; default MOBILENET_V2_WEIGHTS) or its bytes; null for fresh Glorot-uniform weights. */
  weights?: OnnxSource | null;
  /** Keep global average pooling and the predictions layer (default false: the model ends at out_relu). */
  includeTop?: boolean;
  /** [height, width, 3]; default the file's input size, else [224, 224, 3]. */
  inputShape?: [number, number, number];
  /** Without top: 'avg' ends with global average pooling. */
  pooling?: 'avg';
  /** Classes of a fresh model's predictions layer (a file's head fixes them); default 1000. */
  classes?: number;
  /** Activation of predictions; default 'softmax'. */
  classifierActivation?: ActivationName;
}

/** Keras' _inverted_res_block arguments for alpha 1.0: [filters, stride, expansion] of blocks 0..16. */
const BLOCKS: [number, number, number][] = [
  [16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6],
  [64, 1, 6], [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6],
];
const FIRST_FILTERS = 32;
const LAST_FILTERS = 1280;

/** The 52 convolutions in architecture order with their BatchNormalization names (Keras' spelling). */
export function mobileNetV2Convs(): ConvTarget[] {
  const out: ConvTarget[] = [{ name: 'Conv1', bn: 'bn_Conv1', depthwise: false }];
  BLOCKS.forEach((_, id) => {
    const p = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    if (id > 0) out.push({ name: `${p}expand`, bn: `${p}expand_BN`, depthwise: false });
    out.push({ name: `${p}depthwise`, bn: `${p}depthwise_BN`, depthwise: true });
    out.push({ name: `${p}project`, bn: `${p}project_BN`, depthwise: false });
  });
  out.push({ name: 'Conv_1', bn: 'Conv_1_bn', depthwise: false });
  return out;
}

interface GraphOptions {
  inputShape: [number, number, number];
  includeTop: boolean;
  pooling?: 'avg';
  classes: number;
  classifierActivation: ActivationName;
  /** The input rescaling (pixels 0..255 -> the file's range). */
  rescale: { scale: number; offset: number };
  kernelInitializer: InitializerName;
  overrides?: FileOverrides;
}

/** Keras MobileNetV2's layers (BatchNormalization epsilon 1e-3, momentum 0.999), after a rescaling layer. */
function buildMobileNetV2(o: GraphOptions): Model {
  const pads = o.overrides?.pads;
  const bn = (x: SymbolicTensor, name: string) => layers.batchNormalization({ name, epsilon: 1e-3, momentum: 0.999 }).apply(x);
  const relu6 = (x: SymbolicTensor, name: string) => layers.activation({ activation: 'relu6', name }).apply(x);
  const conv = (x: SymbolicTensor, name: string, filters: number, k: number, stride: number) => layers.conv2d({
    name, filters, kernelSize: k, strides: stride, useBias: false, kernelInitializer: o.kernelInitializer,
    padding: convPadding('same', pads?.get(name), spatial(x.shape, name), k, stride),
  }).apply(x);

  const inputs = input({ shape: [...o.inputShape], name: 'input_1' });
  let x = layers.rescaling({ ...o.rescale, name: 'rescaling' }).apply(inputs);
  x = relu6(bn(conv(x, 'Conv1', FIRST_FILTERS, 3, 2), 'bn_Conv1'), 'Conv1_relu');
  let channels = FIRST_FILTERS;
  BLOCKS.forEach(([filters, stride, expansion], id) => {
    const p = id === 0 ? 'expanded_conv_' : `block_${id}_`;
    const blockInput = x;
    if (id > 0) x = relu6(bn(conv(x, `${p}expand`, channels * expansion, 1, 1), `${p}expand_BN`), `${p}expand_relu`);
    const dw = `${p}depthwise`;
    if (stride === 2) {
      const [t, b, l, r] = pads?.get(dw) ?? correctPad(spatial(x.shape, `${p}pad`), 3);
      x = layers.zeroPadding2d({ name: `${p}pad`, padding: [[t, b], [l, r]] }).apply(x);
    }
    x = layers.depthwiseConv2d({
      name: dw, kernelSize: 3, strides: stride, useBias: false, depthwiseInitializer: o.kernelInitializer,
      padding: stride === 2 ? 'valid' : convPadding('same', pads?.get(dw), spatial(x.shape, dw), 3, 1),
    }).apply(x);
    x = relu6(bn(x, `${p}depthwise_BN`), `${p}depthwise_relu`);
    x = bn(conv(x, `${p}project`, filters, 1, 1), `${p}project_BN`);
    if (stride === 1 && channels === filters) x = layers.add({ name: `${p}add` }).apply([blockInput, x]);
    channels = filters;
  });
  x = relu6(bn(conv(x, 'Conv_1', LAST_FILTERS, 1, 1), 'Conv_1_bn'), 'out_relu');
  if (o.includeTop || o.pooling === 'avg') x = layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x);
  if (o.includeTop) {
    x = layers.dense({ units: o.classes, activation: o.classifierActivation, kernelInitializer: o.kernelInitializer, name: 'predictions' }).apply(x);
  }
  const [h, w] = o.inputShape;
  return new Model({ inputs, outputs: x, name: `mobilenetv2_1.00_${h === w ? h : `${h}x${w}`}` });
}

/** MobileNetV2 (alpha 1.0) with Keras' layer names: Conv1, bn_Conv1, Conv1_relu, expanded_conv_*, block_N_*, Conv_1, out_relu. */
export function mobileNetV2(options: MobileNetV2Options = {}): Model {
  const includeTop = options.includeTop ?? false;
  const common = { includeTop, pooling: options.pooling, classifierActivation: options.classifierActivation ?? 'softmax' } as const;
  const weights = options.weights === undefined ? MOBILENET_V2_WEIGHTS : options.weights;
  if (weights === null) {
    return buildMobileNetV2({
      ...common, inputShape: options.inputShape ?? [224, 224, 3], classes: options.classes ?? 1000,
      rescale: { scale: 1 / 127.5, offset: -1 }, kernelInitializer: 'glorotUniform',
    });
  }
  const plan = readOnnxPlan(weights, 'MobileNetV2');
  const file = plan.model.file;
  const targets = mobileNetV2Convs();
  // NOTE: TFLite-derived files classify with a 1x1 Conv on the pooled features: one Conv more than the body.
  const head = plan.convs.length === targets.length + 1 ? plan.convs.at(-1)! : null;
  const body = head ? plan.convs.slice(0, -1) : plan.convs;
  if (body.length !== targets.length) throw new OnnxError({ file }, `has ${plan.convs.length} Conv nodes; MobileNetV2 has ${targets.length} (+1 for a conv classifier)`);
  const classifier = head ? { kernel: denseKernel({ dims: head.weight.dims.slice(0, 2), values: head.weight.values }, true), bias: head.bias } : plan.dense;
  if (includeTop && !classifier) throw new OnnxError({ file }, 'has no classifier; use includeTop: false');
  const pads = new Map<string, Pads>(targets.map((t, i) => [t.name, body[i]!.pads]));
  const size = plan.inputSize ?? [224, 224];
  const model = buildMobileNetV2({
    ...common, inputShape: options.inputShape ?? [size[0], size[1], 3],
    classes: classifier?.kernel.dims[1] ?? options.classes ?? 1000,
    classifierActivation: options.classifierActivation ?? (plan.softmax ? 'softmax' : 'linear'),
    rescale: rescaleOf(plan), kernelInitializer: 'zeros', overrides: { pads },
  });
  try {
    loadConvs(model, plan, targets, body, 'MobileNetV2');
    if (includeTop) {
      const c = classifier!;
      loadDense(model, 'predictions', c.kernel, c.bias ?? new Float32Array(c.kernel.dims[1]!), file);
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The rescaling from 0..255 pixels to the file's input: its own input scaling if it has one, else [-1, 1]. */
function rescaleOf(plan: OnnxPlan): { scale: number; offset: number } {
  const p = plan.preprocess;
  if (!p) return { scale: 1 / 127.5, offset: -1 };
  if (p.scale.some((s) => s !== p.scale[0]) || p.offset.some((b) => b !== p.offset[0])) {
    throw new OnnxError({ file: plan.model.file }, 'normalizes channels differently; MobileNetV2 rescales all channels alike');
  }
  return { scale: p.scale[0]!, offset: p.offset[0]! };
}
