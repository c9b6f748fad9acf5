// EfficientNet-B0 built from tfjs-layers 4.22 (which has no EfficientNet application), layer for layer as
// keras.applications.EfficientNetB0 builds it: Rescaling, Normalization, stem, 16 MBConv blocks with
// squeeze-excite, top; the same names and parameter count as Graft's efficientNetB0 (4,049,571 without top).

import { b0Blocks, B0_STEM_FILTERS, B0_TOP_FILTERS, B0_DROPOUT_RATE, type B0Block } from '../../src/applications/efficientnet-b0-spec.js';
import { correctPad } from '../../src/applications/padding.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/applications/imagenet.js';
import type { Tf } from './tfjs.js';

export type Tfl = typeof import('@tensorflow/tfjs-layers');
type SymbolicTensor = import('@tensorflow/tfjs-layers').SymbolicTensor;
type LayersModel = import('@tensorflow/tfjs-layers').LayersModel;
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

/** Options of tfjsEfficientNetB0 (Keras' names). */
export interface TfjsB0Options {
  /** [height, width, 3]; default [224, 224, 3]. */
  inputShape?: [number, number, number];
  /** Keep avg_pool, top_dropout and predictions (default true). */
  includeTop?: boolean;
  /** Classes of predictions (default 1000). */
  classes?: number;
}

/** Loads tfjs-layers (which also registers tfjs-core's gradients) next to an already loaded tfjs-core. */
export async function loadTfjsLayers(): Promise<Tfl> {
  return (await import('@tensorflow/tfjs-layers')) as Tfl;
}

// NOTE: tfjs-layers has no Keras Normalization layer; this one stores mean, variance and count as Keras does
// (7 non-trainable parameters for RGB) and computes (x - mean) / max(sqrt(variance), 1e-7).
function normalizationLayer(tf: Tf, tfl: Tfl, mean: number[], variance: number[], name: string) {
  class Normalization extends tfl.layers.Layer {
    static readonly className = 'Normalization';
    private weightsOf: { mean: TfTensor; variance: TfTensor } | null = null;

    override build(inputShape: (number | null)[] | (number | null)[][]): void {
      const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
      const c = shape[shape.length - 1]!;
      const m = this.addWeight('mean', [c], 'float32', tfl.initializers.zeros(), undefined, false);
      const v = this.addWeight('variance', [c], 'float32', tfl.initializers.ones(), undefined, false);
      this.addWeight('count', [], 'float32', tfl.initializers.zeros(), undefined, false);
      tf.tidy(() => {
        m.write(tf.tensor1d(mean));
        v.write(tf.tensor1d(variance));
      });
      this.weightsOf = { mean: m.read(), variance: v.read() };
      this.built = true;
    }

    override call(inputs: TfTensor | TfTensor[]): TfTensor {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const w = this.weightsOf!;
      return tf.tidy(() => tf.div(tf.sub(x, w.mean), tf.maximum(tf.sqrt(w.variance), 1e-7)));
    }

    override computeOutputShape(inputShape: (number | null)[] | (number | null)[][]): (number | null)[] | (number | null)[][] {
      return inputShape;
    }

    override getClassName(): string {
      return 'Normalization';
    }
  }
  return new Normalization({ name });
}

/** keras.applications.EfficientNetB0 with fresh weights (tfjs' default initializers), as a tfjs LayersModel. */
export function tfjsEfficientNetB0(tf: Tf, tfl: Tfl, options: TfjsB0Options = {}): LayersModel {
  const L = tfl.layers;
  const shape = options.inputShape ?? [224, 224, 3];
  const hw = (x: SymbolicTensor): [number, number] => [x.shape[1] as number, x.shape[2] as number];
  const bn = (x: SymbolicTensor, name: string) => L.batchNormalization({ axis: 3, epsilon: 1e-3, name }).apply(x) as SymbolicTensor;
  const act = (x: SymbolicTensor, name: string) => L.activation({ activation: 'swish', name }).apply(x) as SymbolicTensor;
  const conv = (x: SymbolicTensor, name: string, filters: number, k: number, stride: number, padding: 'same' | 'valid') =>
    L.conv2d({ name, filters, kernelSize: k, strides: stride, padding, useBias: false }).apply(x) as SymbolicTensor;
  const pad = (x: SymbolicTensor, k: number, name: string) => {
    const [t, b, l, r] = correctPad(hw(x), k);
    return L.zeroPadding2d({ padding: [[t, b], [l, r]], name }).apply(x) as SymbolicTensor;
  };

  const inputs = tfl.input({ shape: [...shape], name: 'input_1' });
  let x = L.rescaling({ scale: 1 / 255, name: 'rescaling' }).apply(inputs) as SymbolicTensor;
  x = normalizationLayer(tf, tfl, IMAGENET_MEAN, IMAGENET_STD.map((s) => s * s), 'normalization').apply(x) as SymbolicTensor;
  x = conv(pad(x, 3, 'stem_conv_pad'), 'stem_conv', B0_STEM_FILTERS, 3, 2, 'valid');
  x = act(bn(x, 'stem_bn'), 'stem_activation');
  for (const b of b0Blocks()) x = block(tfl, x, b, { bn, act, conv, pad });
  x = act(bn(conv(x, 'top_conv', B0_TOP_FILTERS, 1, 1, 'same'), 'top_bn'), 'top_activation');
  if (options.includeTop ?? true) {
    x = L.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as SymbolicTensor;
    x = L.dropout({ rate: B0_DROPOUT_RATE, name: 'top_dropout' }).apply(x) as SymbolicTensor;
    x = L.dense({ units: options.classes ?? 1000, activation: 'softmax', name: 'predictions' }).apply(x) as SymbolicTensor;
  }
  return tfl.model({ inputs, outputs: x, name: 'efficientnetb0' });
}

interface Tools {
  bn: (x: SymbolicTensor, name: string) => SymbolicTensor;
  act: (x: SymbolicTensor, name: string) => SymbolicTensor;
  conv: (x: SymbolicTensor, name: string, filters: number, k: number, stride: number, padding: 'same' | 'valid') => SymbolicTensor;
  pad: (x: SymbolicTensor, k: number, name: string) => SymbolicTensor;
}

/** One MBConv block as Keras' efficientnet.block(). */
function block(tfl: Tfl, inputs: SymbolicTensor, b: B0Block, t: Tools): SymbolicTensor {
  const L = tfl.layers;
  const n = b.name;
  const filters = b.filtersIn * b.expand;
  let x = inputs;
  if (b.expand !== 1) x = t.act(t.bn(t.conv(x, `${n}_expand_conv`, filters, 1, 1, 'same'), `${n}_expand_bn`), `${n}_expand_activation`);
  if (b.stride === 2) x = t.pad(x, b.kernel, `${n}_dwconv_pad`);
  x = L.depthwiseConv2d({
    name: `${n}_dwconv`, kernelSize: b.kernel, strides: b.stride, padding: b.stride === 2 ? 'valid' : 'same', useBias: false,
  }).apply(x) as SymbolicTensor;
  x = t.act(t.bn(x, `${n}_bn`), `${n}_activation`);

  let se = L.globalAveragePooling2d({ name: `${n}_se_squeeze` }).apply(x) as SymbolicTensor;
  se = L.reshape({ targetShape: [1, 1, filters], name: `${n}_se_reshape` }).apply(se) as SymbolicTensor;
  se = L.conv2d({ filters: b.seFilters, kernelSize: 1, padding: 'same', activation: 'swish', name: `${n}_se_reduce` }).apply(se) as SymbolicTensor;
  se = L.conv2d({ filters, kernelSize: 1, padding: 'same', activation: 'sigmoid', name: `${n}_se_expand` }).apply(se) as SymbolicTensor;
  x = L.multiply({ name: `${n}_se_excite` }).apply([x, se]) as SymbolicTensor;

  x = t.bn(t.conv(x, `${n}_project_conv`, b.filtersOut, 1, 1, 'same'), `${n}_project_bn`);
  if (!b.residual) return x;
  if (b.dropRate > 0) x = L.dropout({ rate: b.dropRate, noiseShape: [null as unknown as number, 1, 1, 1], name: `${n}_drop` }).apply(x) as SymbolicTensor;
  return L.add({ name: `${n}_add` }).apply([x, inputs]) as SymbolicTensor;
}
