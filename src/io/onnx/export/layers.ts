// One ONNX emitter per Graft layer class (weights read back from the GPU, converted to ONNX layouts).

import type { Layer } from '../../../nn/layer.js';
import { Activation, Dropout, Flatten, Reshape, Rescaling } from '../../../nn/layers/core.js';
import { Conv2D, DepthwiseConv2D } from '../../../nn/layers/conv.js';
import { Dense } from '../../../nn/layers/dense.js';
import { Add, Multiply } from '../../../nn/layers/merge.js';
import { BatchNormalization, Normalization } from '../../../nn/layers/normalization.js';
import { AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D, ZeroPadding2D } from '../../../nn/layers/pooling.js';
import type { Variable } from '../../../nn/variable.js';
import { samePads } from '../../../ops/conv-geometry.js';
import { Concatenate } from '../layers/concatenate.js';
import { ConstantArithmetic } from '../layers/constant-arithmetic.js';
import { ElementwiseBinary, MatMul, ScalarActivation } from '../layers/elementwise.js';
import { GroupedConv2D } from '../layers/grouped-conv2d.js';
import { Pool2D } from '../layers/pool2d.js';
import { ConstantPad, ReduceMean } from '../layers/shape-ops.js';
import { Softmax } from '../layers/softmax.js';
import { Transpose } from '../layers/transpose.js';
import { transposeValues } from '../import/perm.js';
import { float, int, ints } from '../writer.js';
import { emitActivation } from './activation.js';
import { NCHW_AXIS, type ExportValue, type Form, type OnnxEmitter } from './emitter.js';

/** Everything a layer emitter gets. */
export interface EmitArgs {
  e: OnnxEmitter;
  layer: Layer;
  /** Input values, one per node input. */
  inputs: ExportValue[];
  /** Graft shape of the output. */
  outShape: (number | null)[];
  /** Base name for nodes and initializers (the layer path). */
  name: string;
}

async function read(v: Variable | null, what: string): Promise<Float32Array> {
  if (!v) throw new Error(`Graft exportOnnx: layer has no ${what}`);
  return v.read();
}

const ARITH_OP = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' } as const;
const AUGMENTATION = new Set(['RandomFlip', 'RandomRotation', 'RandomZoom', 'RandomTranslation', 'RandomContrast']);

/** ONNX pads [top, left, bottom, right] for a Graft padding on an input of height h and width w. */
function onnxPads(padding: 'valid' | 'same' | readonly number[], h: number | null, w: number | null, k: [number, number], s: [number, number], d: [number, number]): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (h === null || w === null) throw new Error('Graft exportOnnx: same padding needs known input height and width');
    const [t, b] = samePads(h, k[0], s[0], d[0]);
    const [l, r] = samePads(w, k[1], s[1], d[1]);
    return [t, l, b, r];
  }
  const [t, b, l, r] = padding as [number, number, number, number];
  return [t, l, b, r];
}

/** Emits the layer; returns its output value (one output per layer). */
export async function emitLayer(a: EmitArgs): Promise<ExportValue> {
  const { e, layer, inputs, outShape, name } = a;
  const x = inputs[0]!;
  const rank = x.shape.length;
  const same = (form: Form, out: string): ExportValue => e.value(outShape, form, out);

  if (layer instanceof Conv2D || layer instanceof DepthwiseConv2D || layer instanceof GroupedConv2D) {
    const k = layer.kernel!;
    const kv = await read(k, 'kernel');
    const [kh, kw, ci, co] = k.shape as [number, number, number, number];
    let weight: Float32Array;
    let dims: number[];
    let group = 1;
    if (layer instanceof DepthwiseConv2D) {
      // NOTE: Graft output channel c*M+m reads input channel c, which is ONNX's order for group = C.
      weight = transposeValues(kv, [kh, kw, ci * co], [2, 0, 1]);
      dims = [ci * co, 1, kh, kw];
      group = ci;
    } else {
      weight = transposeValues(kv, k.shape, [3, 2, 0, 1]);
      dims = [co, ci, kh, kw];
      if (layer instanceof GroupedConv2D) group = layer.groups;
    }
    const conv = [e.nchw(x, name), e.floats(`${name}.weight`, dims, weight)];
    if (layer.bias) conv.push(e.floats(`${name}.bias`, [layer.bias.shape[0]!], await read(layer.bias, 'bias')));
    const pads = onnxPads(layer.padding, x.shape[1] ?? null, x.shape[2] ?? null, layer.kernelSize, layer.strides, layer.dilationRate);
    let y = e.node('Conv', conv, {
      kernel_shape: ints([kh, kw]), strides: ints([...layer.strides]), dilations: ints([...layer.dilationRate]), pads: ints(pads), group: int(group),
    }, name);
    if (!(layer instanceof GroupedConv2D)) y = emitActivation(e, y, layer.activation, 4, 'nchw', `${name}_act`);
    return same('nchw', y);
  }
  if (layer instanceof BatchNormalization) {
    const c = layer.movingMean!.shape[0]!;
    const gamma = layer.gamma ? await read(layer.gamma, 'gamma') : new Float32Array(c).fill(1);
    const beta = layer.beta ? await read(layer.beta, 'beta') : new Float32Array(c);
    const mean = await read(layer.movingMean, 'moving mean');
    const variance = await read(layer.movingVariance, 'moving variance');
    if (rank === 4 || rank === 2) {
      const input = rank === 4 ? e.nchw(x, name) : e.nhwc(x, name);
      const params = [e.floats(`${name}.gamma`, [c], gamma), e.floats(`${name}.beta`, [c], beta), e.floats(`${name}.moving_mean`, [c], mean), e.floats(`${name}.moving_variance`, [c], variance)];
      const y = e.node('BatchNormalization', [input, ...params], { epsilon: float(layer.epsilon), momentum: float(layer.momentum) }, name);
      return same(rank === 4 ? 'nchw' : 'nhwc', y);
    }
    const scale = gamma.map((g, i) => g / Math.sqrt(variance[i]! + layer.epsilon));
    const shift = beta.map((b, i) => b - mean[i]! * scale[i]!);
    const m = e.node('Mul', [e.nhwc(x, name), e.floats(`${name}.scale`, [c], scale)], {}, `${name}_scale`);
    return same('nhwc', e.node('Add', [m, e.floats(`${name}.shift`, [c], shift)], {}, name));
  }
  if (layer instanceof Dense) {
    const k = await read(layer.kernel, 'kernel');
    const [kin, kout] = layer.kernel!.shape as [number, number];
    const w = e.floats(`${name}.kernel`, [kin, kout], k);
    const b = layer.bias ? e.floats(`${name}.bias`, [kout], await read(layer.bias, 'bias')) : null;
    let y: string;
    if (rank === 2) y = e.node('Gemm', [e.nhwc(x, name), w, ...(b ? [b] : [])], {}, name);
    else {
      y = e.node('MatMul', [e.nhwc(x, name), w], {}, name);
      if (b) y = e.node('Add', [y, b], {}, `${name}_bias`);
    }
    return same('nhwc', emitActivation(e, y, layer.activation, outShape.length, 'nhwc', `${name}_act`));
  }
  if (layer instanceof Activation) {
    const form = e.formOf([x]);
    return same(form, emitActivation(e, e.get(x, form, name), layer.activation, rank, form, name));
  }
  if (layer instanceof ScalarActivation) {
    const form = e.formOf([x]);
    const input = e.get(x, form, name);
    const y = layer.op === 'clip' ? e.clip(input, layer.alpha, layer.beta, name) : e.node('HardSigmoid', [input], { alpha: float(layer.alpha), beta: float(layer.beta) }, name);
    return same(form, y);
  }
  if (layer instanceof Dropout || AUGMENTATION.has(layer.className)) return x;
  if (layer instanceof Rescaling) {
    const form = e.formOf([x]);
    let y = e.get(x, form, name);
    if (layer.scale !== 1) y = e.node('Mul', [y, e.scalar(`${name}.scale`, layer.scale)], {}, name);
    if (layer.offset !== 0) y = e.node('Add', [y, e.scalar(`${name}.offset`, layer.offset)], {}, `${name}_offset`);
    return same(form, y);
  }
  if (layer instanceof Normalization) {
    const form = e.formOf([x]);
    const mean = await read(layer.mean, 'mean');
    const std = (await read(layer.variance, 'variance')).map((v) => Math.max(Math.sqrt(v), 1e-7));
    const c = mean.length;
    const d = e.node('Sub', [e.get(x, form, name), e.constant(`${name}.mean`, [c], mean, rank, form)], {}, `${name}_sub`);
    return same(form, e.node('Div', [d, e.constant(`${name}.std`, [c], std, rank, form)], {}, name));
  }
  if (layer instanceof ConstantArithmetic) {
    const form = e.formOf([x]);
    const c = e.constant(`${name}.constant`, layer.constantShape, Float32Array.from(layer.constant), rank, form);
    const xi = e.get(x, form, name);
    return same(form, e.node(ARITH_OP[layer.op], layer.reversed ? [c, xi] : [xi, c], {}, name));
  }
  if (layer instanceof Add || layer instanceof Multiply || layer instanceof ElementwiseBinary) {
    const form = inputs.every((v) => v.shape.length === rank) ? e.formOf(inputs) : 'nhwc';
    const op = layer instanceof Add ? 'Add' : layer instanceof Multiply ? 'Mul' : ARITH_OP[layer.op];
    let y = e.get(x, form, name);
    inputs.slice(1).forEach((v, i) => (y = e.node(op, [y, e.get(v, form, name)], {}, i === 0 ? name : `${name}_${i}`)));
    return same(form, y);
  }
  if (layer instanceof Flatten) {
    const form: Form = rank === 4 && x.nchw && x.shape[1] === 1 && x.shape[2] === 1 ? 'nchw' : 'nhwc';
    return same('nhwc', e.node('Flatten', [e.get(x, form, name)], { axis: int(1) }, name));
  }
  if (layer instanceof Reshape) {
    return same('nhwc', e.node('Reshape', [e.nhwc(x, name), e.int64s(`${name}.shape`, [0, ...layer.targetShape])], {}, name));
  }
  if (layer instanceof GlobalAveragePooling2D) {
    const y = e.node('GlobalAveragePool', [e.nchw(x, name)], {}, name);
    if (layer.keepDims) return same('nchw', y);
    return same('nhwc', e.node('Flatten', [y], { axis: int(1) }, `${name}_flatten`));
  }
  if (layer instanceof MaxPooling2D || layer instanceof AveragePooling2D || layer instanceof Pool2D) {
    const max = layer instanceof MaxPooling2D || (layer instanceof Pool2D && layer.mode === 'max');
    const pads = onnxPads(layer.padding, x.shape[1] ?? null, x.shape[2] ?? null, layer.poolSize, layer.strides, [1, 1]);
    const attrs = { kernel_shape: ints([...layer.poolSize]), strides: ints([...layer.strides]), pads: ints(pads), ...(max ? {} : { count_include_pad: int(0) }) };
    return same('nchw', e.node(max ? 'MaxPool' : 'AveragePool', [e.nchw(x, name)], attrs, name));
  }
  if (layer instanceof ZeroPadding2D || layer instanceof ConstantPad) {
    const [[t, b], [l, r]] = layer instanceof ZeroPadding2D ? layer.padding : [[0, 0], [0, 0]];
    const physical: [number, number][] = layer instanceof ZeroPadding2D ? [[0, 0], [t, b], [l, r], [0, 0]] : layer.paddings;
    const value = layer instanceof ConstantPad ? layer.value : 0;
    const form = rank === 4 ? e.formOf([x]) : 'nhwc';
    const order = form === 'nchw' ? [0, 3, 1, 2] : [...physical.keys()];
    const pads = [...order.map((p) => physical[p]![0]), ...order.map((p) => physical[p]![1])];
    return same(form, e.node('Pad', [e.get(x, form, name), e.int64s(`${name}.pads`, pads), e.scalar(`${name}.value`, value)], { mode: { type: 'string', value: 'constant' } }, name));
  }
  if (layer instanceof Softmax) {
    const axis = layer.axis < 0 ? layer.axis + rank : layer.axis;
    const form = e.formOf([x]);
    return same(form, e.softmax(e.get(x, form, name), form === 'nchw' ? NCHW_AXIS[axis]! : axis, name));
  }
  if (layer instanceof Concatenate) {
    const axis = layer.axis < 0 ? layer.axis + rank : layer.axis;
    const form = e.formOf(inputs);
    return same(form, e.node('Concat', inputs.map((v) => e.get(v, form, name)), { axis: int(form === 'nchw' ? NCHW_AXIS[axis]! : axis) }, name));
  }
  if (layer instanceof Transpose) return same('nhwc', e.node('Transpose', [e.nhwc(x, name)], { perm: ints(layer.perm) }, name));
  if (layer instanceof ReduceMean) {
    const axes = layer.axes.map((v) => (v < 0 ? v + rank : v));
    return same('nhwc', e.node('ReduceMean', [e.nhwc(x, name)], { axes: ints(axes), keepdims: int(layer.keepDims ? 1 : 0) }, name));
  }
  if (layer instanceof MatMul) return same('nhwc', e.node('MatMul', inputs.map((v) => e.nhwc(v, name)), {}, name));
  throw new Error(`Graft exportOnnx: layer '${layer.name}' of class ${layer.className} has no ONNX export`);
}
