// The EfficientNet-B0 graph with Keras' layer names, granularity and order (keras.applications.EfficientNetB0),
// so that `model.layers.slice(-n)` picks the layers Keras' `base_model.layers[-n:]` picks.

import { input, layers, type ActivationName, type Conv2DArgs, type SymbolicTensor } from '../nn/index.js';
import { Model } from '../train/model.js';
import {
  B0_DROPOUT_RATE, B0_DROP_CONNECT_RATE, B0_STEM_FILTERS, B0_TOP_FILTERS, b0Blocks, type B0Block,
} from './efficientnet-b0-spec.js';
import { convPadding, correctPad, spatial, type FileOverrides } from './padding.js';

/** What the graph builder needs (efficientNetB0 fills the defaults). */
export interface B0GraphOptions {
  /** [height, width, 3]. */
  inputShape: [number, number, number];
  includeTop: boolean;
  classes: number;
  /** Without top: 'avg' adds avg_pool; undefined ends at top_activation. */
  pooling?: 'avg';
  classifierActivation: ActivationName;
  /** Per-channel mean and variance of the Normalization after Rescaling(1/255). */
  normalization: { mean: number[]; variance: number[] };
  /** Pads and BN epsilons taken from a weights file. */
  overrides?: FileOverrides;
  dropoutRate?: number;
  dropConnectRate?: number;
}

/** Keras' BatchNormalization epsilon. */
const KERAS_BN_EPSILON = 1e-3;

/** Builds the graph; kernels start at zero ('zeros' placeholders) and are written by the caller. */
export function buildEfficientNetB0(o: B0GraphOptions): Model {
  const eps = (name: string) => o.overrides?.epsilons?.get(name) ?? KERAS_BN_EPSILON;
  const bn = (x: SymbolicTensor, name: string) => layers.batchNormalization({ name, epsilon: eps(name) }).apply(x);
  const act = (x: SymbolicTensor, name: string) => layers.activation({ activation: 'swish', name }).apply(x);
  const conv = (x: SymbolicTensor, name: string, filters: number, k: number, stride: number, mode: 'same' | 'valid', extra: Partial<Conv2DArgs> = {}) =>
    layers.conv2d({
      name, filters, kernelSize: k, strides: stride, useBias: false, kernelInitializer: 'zeros',
      padding: convPadding(mode, stride === 2 ? undefined : o.overrides?.pads?.get(name), spatial(x.shape, name), k, stride), ...extra,
    }).apply(x);
  // NOTE: a strided conv (all have a pad layer in B0) gets Keras' explicit pad layer (correct_pad) or the file's total padding, then 'valid'.
  const padFor = (x: SymbolicTensor, convName: string, k: number, padName: string) => {
    const [t, b, l, r] = o.overrides?.pads?.get(convName) ?? correctPad(spatial(x.shape, padName), k);
    return layers.zeroPadding2d({ name: padName, padding: [[t, b], [l, r]] }).apply(x);
  };

  const inputs = input({ shape: [...o.inputShape], name: 'input_1' });
  let x = layers.rescaling({ scale: 1 / 255, name: 'rescaling' }).apply(inputs);
  x = layers.normalization({ ...o.normalization, name: 'normalization' }).apply(x);
  x = padFor(x, 'stem_conv', 3, 'stem_conv_pad');
  x = conv(x, 'stem_conv', B0_STEM_FILTERS, 3, 2, 'valid');
  x = act(bn(x, 'stem_bn'), 'stem_activation');
  for (const b of b0Blocks(o.dropConnectRate ?? B0_DROP_CONNECT_RATE)) x = block(x, b, { bn, act, conv, padFor, overrides: o.overrides });
  x = conv(x, 'top_conv', B0_TOP_FILTERS, 1, 1, 'same');
  x = act(bn(x, 'top_bn'), 'top_activation');
  if (o.includeTop) {
    x = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
    const rate = o.dropoutRate ?? B0_DROPOUT_RATE;
    if (rate > 0) x = layers.dropout({ rate, name: 'top_dropout' }).apply(x);
    x = layers.dense({
      units: o.classes, activation: o.classifierActivation, kernelInitializer: 'zeros', name: 'predictions',
    }).apply(x);
  } else if (o.pooling === 'avg') {
    x = layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x);
  }
  return new Model({ inputs, outputs: x, name: 'efficientnetb0' });
}

interface BlockTools {
  bn: (x: SymbolicTensor, name: string) => SymbolicTensor;
  act: (x: SymbolicTensor, name: string) => SymbolicTensor;
  conv: (x: SymbolicTensor, name: string, filters: number, k: number, stride: number, mode: 'same' | 'valid', extra?: Partial<Conv2DArgs>) => SymbolicTensor;
  padFor: (x: SymbolicTensor, convName: string, k: number, padName: string) => SymbolicTensor;
  overrides: FileOverrides | undefined;
}

/** One MBConv block, layer for layer as Keras' efficientnet.block(). */
function block(inputs: SymbolicTensor, b: B0Block, t: BlockTools): SymbolicTensor {
  const n = b.name;
  const filters = b.filtersIn * b.expand;
  let x = inputs;
  if (b.expand !== 1) x = t.act(t.bn(t.conv(x, `${n}_expand_conv`, filters, 1, 1, 'same'), `${n}_expand_bn`), `${n}_expand_activation`);
  const dwName = `${n}_dwconv`;
  if (b.stride === 2) x = t.padFor(x, dwName, b.kernel, `${n}_dwconv_pad`);
  const mode = b.stride === 2 ? 'valid' : 'same';
  x = layers.depthwiseConv2d({
    name: dwName, kernelSize: b.kernel, strides: b.stride, useBias: false, depthwiseInitializer: 'zeros',
    padding: convPadding(mode, b.stride === 2 ? undefined : t.overrides?.pads?.get(dwName), spatial(x.shape, dwName), b.kernel, b.stride),
  }).apply(x);
  x = t.act(t.bn(x, `${n}_bn`), `${n}_activation`);

  let se = layers.globalAveragePooling2d({ name: `${n}_se_squeeze` }).apply(x);
  se = layers.reshape({ targetShape: [1, 1, filters], name: `${n}_se_reshape` }).apply(se);
  // NOTE: 'silu' is Keras' 'swish' under its other name; the conv fuses it into its epilogue.
  se = t.conv(se, `${n}_se_reduce`, b.seFilters, 1, 1, 'same', { useBias: true, activation: 'silu' });
  se = t.conv(se, `${n}_se_expand`, filters, 1, 1, 'same', { useBias: true, activation: 'sigmoid' });
  x = layers.multiply({ name: `${n}_se_excite` }).apply([x, se]);

  x = t.bn(t.conv(x, `${n}_project_conv`, b.filtersOut, 1, 1, 'same'), `${n}_project_bn`);
  if (!b.residual) return x;
  // NOTE: stochastic depth as in Keras: noise shape (N,1,1,1) drops whole residual branches per example.
  if (b.dropRate > 0) x = layers.dropout({ rate: b.dropRate, noiseShape: [null, 1, 1, 1], name: `${n}_drop` }).apply(x);
  return layers.add({ name: `${n}_add` }).apply([x, inputs]);
}
