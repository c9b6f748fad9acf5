// Inference-mode conv + batch-norm folding: filter W * s and bias (b - mean) * s + beta, s = gamma / sqrt(var + eps),
// cached per (conv, BN) pair and recomputed only when a source Variable's version changes. A 1x1 conv (a matmul)
// keeps its own filter and applies s in the matmul epilogue instead, so no weight is copied.

import { foldBatchNorm } from '../ops/batchnorm.js';
import { add, mul } from '../ops/elementwise.js';
import { reshape } from '../ops/reshape.js';
import { keep, noGrad } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ConvActivation } from '../ops/conv-geometry.js';
import type { ActivationName } from './activations.js';
import { Conv2D, DepthwiseConv2D } from './layers/conv.js';
import type { BatchNormalization } from './layers/normalization.js';
import type { Variable } from './variable.js';

/** A conv layer's filter and bias with its following batch normalization folded in (or the conv's own, without BN). */
export interface FoldedConv {
  /** The folded filter, or the layer's own when `scale` is set. */
  filter: Tensor;
  bias: Tensor | null;
  /** Per output channel, applied to the conv's output before the bias (1x1 convs through matmul's epilogue). */
  scale: Tensor | null;
}

/** The epilogue code of a layer activation, or null when a conv epilogue cannot apply it. */
export function epilogueOf(a: ActivationName): ConvActivation | null {
  if (a === 'swish') return 'silu';
  return a === 'linear' || a === 'relu' || a === 'relu6' || a === 'sigmoid' || a === 'silu' ? a : null;
}

/** The variables a folded result depends on, in a fixed order. */
function sources(conv: Conv2D | DepthwiseConv2D, bn: BatchNormalization): Variable[] {
  return [conv.kernel, conv.bias, bn.gamma, bn.beta, bn.movingMean, bn.movingVariance].filter((v): v is Variable => v !== null);
}

/**
 * Folds `bn` into `conv`'s weights (no recording): bias * scale + shift, and filter * scale per output channel, or
 * with `epilogue`, the layer's own filter and the scale for the conv's epilogue.
 */
function fold(conv: Conv2D | DepthwiseConv2D, bn: BatchNormalization, epilogue: boolean): FoldedConv {
  return noGrad(() => {
    const { scale, shift } = foldBatchNorm(bn.movingMean!.value, bn.movingVariance!.value, bn.gamma?.value ?? null, bn.beta?.value ?? null, bn.epsilon);
    let bias = shift;
    if (conv.bias) {
      const bs = mul(conv.bias.value, scale);
      bias = add(bs, shift);
      bs.dispose();
      shift.dispose();
    }
    if (epilogue) return { filter: conv.kernel!.value, bias: keep(bias), scale: keep(scale) };
    const k = conv.kernel!.value;
    // NOTE: output channels are the last axis of a conv kernel and the flattened last two of a depthwise one.
    const outC = conv instanceof DepthwiseConv2D ? k.shape[2]! * k.shape[3]! : k.shape[3]!;
    const flat = reshape(k, [k.size / outC, outC]);
    const scaled = mul(flat, scale);
    const filter = reshape(scaled, k.shape);
    for (const t of [scale, flat, scaled]) t.dispose();
    return { filter: keep(filter), bias: keep(bias), scale: null };
  });
}

/** A cache of one (conv, BN) pair's folded weights, keyed by the versions of every source variable. */
export class FoldCache {
  private key = '';
  private value: FoldedConv | null = null;

  constructor(
    private readonly conv: Conv2D | DepthwiseConv2D,
    private readonly bn: BatchNormalization,
    /** Keep the filter and give the scale for a matmul epilogue (1x1 convs). */
    private readonly epilogue: boolean,
  ) {}

  /** The folded weights for the variables' current contents (recomputed after any of them changed). */
  get(): FoldedConv {
    const key = sources(this.conv, this.bn).map((v) => v.version).join(',');
    if (this.value && key === this.key) return this.value;
    this.dispose();
    this.value = fold(this.conv, this.bn, this.epilogue);
    this.key = key;
    return this.value;
  }

  /** Frees the cached tensors. */
  dispose(): void {
    // NOTE: with a scale, the filter is the layer's own and stays.
    if (this.value && !this.value.scale) this.value.filter.dispose();
    this.value?.bias?.dispose();
    this.value?.scale?.dispose();
    this.value = null;
    this.key = '';
  }
}
