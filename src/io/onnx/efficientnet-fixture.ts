// EfficientNet-B0-shaped ONNX files with seeded random weights, in the graph styles of two exporters:
// torch.onnx on torchvision's efficientnet_b0 (NCHW) and tf2onnx on keras.applications.EfficientNetB0 (NHWC input).

import {
  foldBatchNorm, makeB0Params, type B0Params, type BlockParams, type ConvBn, type ConvParams,
} from './efficientnet-params.js';
import { GraphBuilder, encodeModel, float, int, ints } from './writer.js';

/** Options of makeEfficientNetOnnx. */
export interface EfficientNetFixtureOptions {
  /** Exporter style: 'torchvision' (NCHW, logits) or 'keras' (NHWC 0..255 input, softmax). */
  style: 'torchvision' | 'keras';
  /** Fold BatchNormalization into conv weights and biases instead of keeping BatchNormalization nodes. */
  foldedBn?: boolean;
  /** Weight seed; default 1. */
  seed?: number;
  /** Input height and width; default 224 (use e.g. 32 in tests). */
  size?: number;
  /** Classifier outputs; default 1000. */
  classes?: number;
}

/** The ONNX bytes of a B0-shaped model. Input and output names are given by fixtureIo(style). */
export function makeEfficientNetOnnx(options: EfficientNetFixtureOptions): Uint8Array {
  const style = options.style;
  const params = makeB0Params(options.seed ?? 1, options.classes ?? 1000, style === 'keras' ? 1e-3 : 1e-5);
  const emit = style === 'keras' ? new KerasEmitter(params, options) : new TorchEmitter(params, options);
  return emit.encode();
}

/** Input/output names and layouts of each style. */
export function fixtureIo(style: EfficientNetFixtureOptions['style']): { input: string; output: string; layout: 'NCHW' | 'NHWC' } {
  return style === 'keras'
    ? { input: 'input_1', output: 'predictions', layout: 'NHWC' }
    : { input: 'input', output: 'logits', layout: 'NCHW' };
}

/** Shared parts: conv/BN/SiLU emission with the style's naming. */
abstract class Emitter {
  protected readonly g: GraphBuilder;
  protected readonly folded: boolean;
  protected readonly size: number;
  protected readonly classes: number;

  constructor(protected readonly p: B0Params, options: EfficientNetFixtureOptions) {
    this.g = new GraphBuilder(options.style === 'keras' ? 'efficientnetb0' : 'main_graph');
    this.folded = options.foldedBn ?? false;
    this.size = options.size ?? 224;
    this.classes = options.classes ?? 1000;
  }

  abstract encode(): Uint8Array;

  /** Conv (+ BatchNormalization unless folded); `pads` are ONNX [top, left, bottom, right]. */
  protected convBn(x: string, name: string, cb: ConvBn, pads: number[]): string {
    if (this.folded) return this.conv(x, name, foldBatchNorm(cb), pads);
    const y = this.conv(x, name, cb.conv, pads);
    const { bn } = cb;
    const bnName = this.bnName(name);
    const inputs = [y, ...(['gamma', 'beta', 'mean', 'variance'] as const).map((k) =>
      this.g.floatInit(`${bnName}.${k}`, [bn[k].length], bn[k]))];
    return this.g.node('BatchNormalization', inputs, [`${bnName}_out`], { epsilon: float(bn.epsilon), momentum: float(0.9) }, bnName)[0]!;
  }

  protected conv(x: string, name: string, c: ConvParams, pads: number[]): string {
    const k = c.dims[2];
    const inputs = [x, this.g.floatInit(`${name}.weight`, c.dims, c.weight)];
    if (c.bias) inputs.push(this.g.floatInit(`${name}.bias`, [c.bias.length], c.bias));
    return this.g.node('Conv', inputs, [`${name}_out`], {
      dilations: ints([1, 1]), group: int(c.group), kernel_shape: ints([k, k]), pads: ints(pads), strides: ints([c.stride, c.stride]),
    }, name)[0]!;
  }

  /** SiLU as exporters write it: Sigmoid then Mul. */
  protected silu(x: string, name: string): string {
    const s = this.g.node('Sigmoid', [x], [`${name}_sigmoid`], {}, `${name}_sigmoid`)[0]!;
    return this.g.node('Mul', [x, s], [`${name}_out`], {}, name)[0]!;
  }

  /** Squeeze-excite: pooled -> 1x1 conv -> SiLU -> 1x1 conv -> Sigmoid -> scale. */
  protected excite(x: string, pooled: string, name: string, b: BlockParams): string {
    const r = this.silu(this.conv(pooled, `${name}_reduce`, b.seReduce, [0, 0, 0, 0]), `${name}_reduce_act`);
    const e = this.conv(r, `${name}_expand`, b.seExpand, [0, 0, 0, 0]);
    const gate = this.g.node('Sigmoid', [e], [`${name}_gate`], {}, `${name}_gate`)[0]!;
    return this.g.node('Mul', [x, gate], [`${name}_excite`], {}, `${name}_excite`)[0]!;
  }

  protected abstract bnName(convName: string): string;
}

/** torch.onnx export of torchvision efficientnet_b0: NCHW, symmetric pads, GlobalAveragePool, Flatten + Gemm. */
class TorchEmitter extends Emitter {
  encode(): Uint8Array {
    const { g, p } = this;
    let x = g.input('input', 'float32', ['N', 3, this.size, this.size]);
    const same = (k: number): number[] => [k >> 1, k >> 1, k >> 1, k >> 1];
    x = this.silu(this.convBn(x, 'features.0.0', p.stem, same(3)), 'features.0.2');
    for (const b of p.blocks) {
      const input = x;
      const path = `features.${b.stage + 1}.${b.index}.block`;
      let j = 0;
      if (b.expand) {
        x = this.silu(this.convBn(x, `${path}.${j}.0`, b.expand, [0, 0, 0, 0]), `${path}.${j}.2`);
        j++;
      }
      const k = b.depthwise.conv.dims[2];
      x = this.silu(this.convBn(x, `${path}.${j}.0`, b.depthwise, same(k)), `${path}.${j}.2`);
      j++;
      const pooled = g.node('GlobalAveragePool', [x], [`${path}.${j}.avgpool_out`], {}, `${path}.${j}.avgpool`)[0]!;
      x = this.excite(x, pooled, `${path}.${j}`, b);
      j++;
      x = this.convBn(x, `${path}.${j}.0`, b.project, [0, 0, 0, 0]);
      if (b.residual) x = g.node('Add', [x, input], [`${path}_add_out`], {}, `${path}_add`)[0]!;
    }
    x = this.silu(this.convBn(x, 'features.8.0', p.top, [0, 0, 0, 0]), 'features.8.2');
    x = g.node('GlobalAveragePool', [x], ['avgpool_out'], {}, 'avgpool')[0]!;
    x = g.node('Flatten', [x], ['flatten_out'], { axis: int(1) }, 'flatten')[0]!;
    const { weight, bias, classes } = p.dense;
    const w = g.floatInit('classifier.1.weight', [classes, weight.length / classes], weight);
    const bb = g.floatInit('classifier.1.bias', [classes], bias);
    g.node('Gemm', [x, w, bb], ['logits'], { alpha: float(1), beta: float(1), transB: int(1) }, 'classifier.1');
    g.output('logits', 'float32', ['N', this.classes]);
    return encodeModel(g, { opsets: [{ domain: '', version: 17 }], producerName: 'pytorch', producerVersion: '2.1.0' });
  }

  protected bnName(convName: string): string {
    return convName.replace(/\.0$/, '.1');
  }
}

/**
 * tf2onnx export of keras EfficientNetB0: NHWC input in 0..255, Rescaling and Normalization as Mul/Sub/Div, a
 * Transpose to NCHW, explicit asymmetric Pad before stride-2 convs (TF 'same': the extra row/column at the end),
 * ReduceMean squeeze-excite, MatMul + Add head and Softmax.
 */
class KerasEmitter extends Emitter {
  encode(): Uint8Array {
    const { g, p } = this;
    let x = g.input('input_1', 'float32', ['N', this.size, this.size, 3]);
    x = g.node('Mul', [x, g.floatInit('rescaling/scale', [], Float32Array.of(1 / 255))], ['rescaling_out'], {}, 'rescaling')[0]!;
    const mean = g.floatInit('normalization/mean', [3], Float32Array.of(0.485, 0.456, 0.406));
    const std = g.floatInit('normalization/std', [3], Float32Array.of(0.229, 0.224, 0.225));
    x = g.node('Sub', [x, mean], ['normalization_sub_out'], {}, 'normalization/sub')[0]!;
    x = g.node('Div', [x, std], ['normalization_out'], {}, 'normalization/truediv')[0]!;
    x = g.node('Transpose', [x], ['input_nchw'], { perm: ints([0, 3, 1, 2]) }, 'transpose_to_nchw')[0]!;
    let size = this.size;
    const stridedConv = (input: string, name: string, cb: ConvBn): string => {
      const k = cb.conv.dims[2];
      const padded = this.tfSamePad(input, `${name}_pad`, k, size);
      size = Math.floor((size + (k >> 1) * 2 - (1 - (size % 2)) - k) / 2) + 1;
      return this.convBn(padded, name, cb, [0, 0, 0, 0]);
    };
    x = this.silu(stridedConv(x, 'stem_conv', p.stem), 'stem_activation');
    for (const b of p.blocks) {
      const input = x;
      const n = b.name;
      if (b.expand) x = this.silu(this.convBn(x, `${n}_expand_conv`, b.expand, [0, 0, 0, 0]), `${n}_expand_activation`);
      const k = b.depthwise.conv.dims[2];
      x = b.depthwise.conv.stride === 2
        ? stridedConv(x, `${n}_dwconv`, b.depthwise)
        : this.convBn(x, `${n}_dwconv`, b.depthwise, [k >> 1, k >> 1, k >> 1, k >> 1]);
      x = this.silu(x, `${n}_activation`);
      const pooled = g.node('ReduceMean', [x], [`${n}_se_squeeze_out`], { axes: ints([2, 3]), keepdims: int(1) }, `${n}_se_squeeze`)[0]!;
      x = this.excite(x, pooled, `${n}_se`, b);
      x = this.convBn(x, `${n}_project_conv`, b.project, [0, 0, 0, 0]);
      if (b.residual) x = g.node('Add', [x, input], [`${n}_add_out`], {}, `${n}_add`)[0]!;
    }
    x = this.silu(this.convBn(x, 'top_conv', p.top, [0, 0, 0, 0]), 'top_activation');
    x = g.node('ReduceMean', [x], ['avg_pool_out'], { axes: ints([2, 3]), keepdims: int(0) }, 'avg_pool')[0]!;
    const { weight, bias, classes } = p.dense;
    const inCh = weight.length / classes;
    const kernel = new Float32Array(weight.length);
    for (let o = 0; o < classes; o++) for (let i = 0; i < inCh; i++) kernel[i * classes + o] = weight[o * inCh + i]!;
    x = g.node('MatMul', [x, g.floatInit('predictions/kernel', [inCh, classes], kernel)], ['predictions_matmul'], {}, 'predictions/MatMul')[0]!;
    x = g.node('Add', [x, g.floatInit('predictions/bias', [classes], bias)], ['predictions_logits'], {}, 'predictions/BiasAdd')[0]!;
    g.node('Softmax', [x], ['predictions'], { axis: int(-1) }, 'predictions/Softmax');
    g.output('predictions', 'float32', ['N', this.classes]);
    return encodeModel(g, { opsets: [{ domain: '', version: 13 }], producerName: 'tf2onnx', producerVersion: '1.16.1' });
  }

  /** Keras correct_pad + ZeroPadding2D: k//2 at the end, one less at the start for even sizes. */
  private tfSamePad(x: string, name: string, k: number, size: number): string {
    const end = k >> 1;
    const begin = end - (1 - (size % 2));
    const pads = this.g.int64Init(`${name}/pads`, [8], [0, 0, begin, begin, 0, 0, end, end]);
    return this.g.node('Pad', [x, pads], [`${name}_out`], {}, name)[0]!;
  }

  protected bnName(convName: string): string {
    return convName.replace(/_(dw)?conv$/, '') + '_bn';
  }
}
