// Writes ONNX weights into Keras-named layers, converting layouts (OIHW -> HWIO, depthwise -> [kh, kw, C, 1],
// Gemm -> [in, out]).
//
// Folded BatchNormalization (a file whose convs carry the BN as weight scale and bias): the model keeps Keras'
// conv (no bias) + BatchNormalization pair, and the BN carries the conv's bias as beta with identity statistics
// (gamma 1, moving mean 0, moving variance 1 - epsilon). Inference is exactly the file's; the layer list, parameter
// count and `layers.slice(-n)` stay Keras'. A BN run on batch statistics (training: true on a trainable BN) would
// renormalize, so fine-tune such a base with `training: false`, as the Keras transfer-learning guide does.

import { depthwiseToHwcm, oihwToHwio, OnnxError, type Weight } from '../io/onnx/index.js';
import { BatchNormalization, Conv2D, Dense, DepthwiseConv2D, type Variable } from '../nn/index.js';
import type { Model } from '../train/model.js';
import type { OnnxConv, OnnxPlan } from './onnx-plan.js';

/** A conv of the architecture and the BatchNormalization after it (null: the conv has a bias instead). */
export interface ConvTarget {
  /** Keras layer name. */
  name: string;
  /** Keras name of its BatchNormalization, or null. */
  bn: string | null;
  depthwise: boolean;
}

function write(v: Variable | null, values: Float32Array, where: string): void {
  if (!v) throw new Error(`Graft applications: ${where} has no such weight`);
  v.write(values);
}

function sameDims(w: Weight, v: Variable): boolean {
  return w.dims.length === v.shape.length && w.dims.every((d, i) => d === v.shape[i]);
}

/** Loads one file conv (and its BN, kept or folded) into the layers named by `target`. */
export function loadConv(model: Model, plan: OnnxPlan, target: ConvTarget, c: OnnxConv): void {
  const fail = (problem: string): never => {
    throw new OnnxError({ file: plan.model.file, node: c.node }, `maps to layer '${target.name}': ${problem}`);
  };
  const layer = model.getLayer(target.name);
  if (!(layer instanceof Conv2D || layer instanceof DepthwiseConv2D)) return fail('not a convolution layer');
  const channels = c.weight.dims[0]!;
  if (target.depthwise !== (c.group > 1)) fail(`expected a ${target.depthwise ? 'depthwise' : 'regular'} conv, got group ${c.group}`);
  if (c.group > 1 && (c.group !== channels || c.weight.dims[1] !== 1)) fail(`group ${c.group} is not depthwise for ${channels} channels`);
  const kernel = target.depthwise ? depthwiseToHwcm(c.weight, channels) : oihwToHwio(c.weight);
  if (!sameDims(kernel, layer.kernel!)) fail(`weight [${c.weight.dims.join(',')}] does not fit kernel [${layer.kernel!.shape.join(',')}]`);
  const [sh, sw] = layer.strides;
  if (c.strides[0] !== sh || c.strides[1] !== sw) fail(`strides [${c.strides.join(',')}], expected [${sh},${sw}]`);
  layer.kernel!.write(kernel.values);
  if (!target.bn) {
    if (c.bn) fail(`a BatchNormalization ('${c.bn.node.name}') follows, the architecture has none here`);
    write(layer.bias, c.bias ?? new Float32Array(channels), target.name);
    return;
  }
  const bn = model.getLayer(target.bn);
  if (!(bn instanceof BatchNormalization)) return fail(`'${target.bn}' is not a BatchNormalization layer`);
  const n = channels;
  const bias = c.bias ?? new Float32Array(n);
  if (c.bn) {
    // NOTE: a conv bias before a BN shifts the moving mean: BN(x + b) uses mean - b.
    write(bn.gamma, c.bn.gamma, target.bn);
    write(bn.beta, c.bn.beta, target.bn);
    write(bn.movingMean, c.bn.mean.map((m, i) => m - bias[i]!), target.bn);
    write(bn.movingVariance, c.bn.variance, target.bn);
    return;
  }
  write(bn.gamma, new Float32Array(n).fill(1), target.bn);
  write(bn.beta, bias, target.bn);
  write(bn.movingMean, new Float32Array(n), target.bn);
  write(bn.movingVariance, new Float32Array(n).fill(1 - bn.epsilon), target.bn);
}

/** Loads all convs of the file onto `targets`, in order; the counts must agree. */
export function loadConvs(model: Model, plan: OnnxPlan, targets: ConvTarget[], convs: OnnxConv[], what: string): void {
  if (convs.length !== targets.length) {
    throw new OnnxError({ file: plan.model.file }, `has ${convs.length} Conv nodes where ${what} has ${targets.length}`);
  }
  targets.forEach((t, i) => loadConv(model, plan, t, convs[i]!));
}

/** Loads a classifier (kernel [in, classes]) into a Dense layer. */
export function loadDense(model: Model, name: string, kernel: Weight, bias: Float32Array, file: string): void {
  const layer = model.getLayer(name);
  if (!(layer instanceof Dense) || !sameDims(kernel, layer.kernel!)) {
    throw new OnnxError({ file }, `classifier [${kernel.dims.join(',')}] does not fit layer '${name}'`);
  }
  layer.kernel!.write(kernel.values);
  write(layer.bias, bias, name);
}
