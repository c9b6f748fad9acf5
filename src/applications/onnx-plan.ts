// Reads the parts of a CNN ONNX file an application maps onto its Keras-named layers: the input's preprocessing,
// every Conv in execution order (weights, bias, padding including a Pad node before it, the BatchNormalization
// after it), the dense classifier and a final Softmax. Exporter styles: torch.onnx (NCHW) and tf2onnx (NHWC input,
// Transposes, explicit Pad nodes).

import {
  NodeAttributes, OnnxError, denseKernel, foldConstants, loadOnnxModel,
  type Dim, type OnnxModel, type OnnxNode, type OnnxSource, type OnnxTensor, type Weight,
} from '../io/onnx/index.js';
import type { Pads } from './padding.js';

/** A BatchNormalization in inference form. */
export interface OnnxBatchNorm {
  node: OnnxNode;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** One Conv node. */
export interface OnnxConv {
  node: OnnxNode;
  /** ONNX weight [O, I/group, kh, kw]. */
  weight: Weight;
  /** Bias [O], or null. */
  bias: Float32Array | null;
  group: number;
  strides: [number, number];
  /** Total padding [top, bottom, left, right]: the conv's own plus a zero Pad node right before it. */
  pads: Pads;
  /** The BatchNormalization that alone reads its output, if any. */
  bn: OnnxBatchNorm | null;
}

/** What an application needs from a file. */
export interface OnnxPlan {
  model: OnnxModel;
  /** Layout of the graph input. */
  layout: 'NCHW' | 'NHWC';
  /** Input height and width, when the file fixes them. */
  inputSize: [number, number] | null;
  /** Per-channel y = x * scale + offset the graph applies to its input before anything else, or null. */
  preprocess: { scale: number[]; offset: number[] } | null;
  convs: OnnxConv[];
  /** A Gemm or MatMul(+Add) classifier as a dense kernel [in, classes] with its bias. */
  dense: { node: OnnxNode; kernel: Weight; bias: Float32Array } | null;
  /** Whether a Softmax produces the graph output. */
  softmax: boolean;
}

/** Ops a plain CNN classifier graph may contain; anything else means the file is not the expected architecture. */
const CNN_OPS = new Set([
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'Sigmoid', 'Mul', 'Add', 'Sub', 'Div', 'Gemm', 'MatMul',
  'GlobalAveragePool', 'ReduceMean', 'Flatten', 'Reshape', 'Transpose', 'Pad', 'Squeeze', 'Unsqueeze', 'Softmax',
  'Identity', 'Dropout',
]);
const PASS_THROUGH = new Set(['Identity', 'Dropout']);

/** Reads the file (path or bytes) and extracts its plan; every problem is an OnnxError naming the file and node. */
export function readOnnxPlan(source: OnnxSource, what: string): OnnxPlan {
  const model = loadOnnxModel(source);
  const folded = foldConstants(model);
  const { nodes, initializers } = folded.graph;
  const g = new GraphIndex(model, nodes, initializers, folded.shapes);
  for (const n of nodes) {
    if (n.domain || !CNN_OPS.has(n.opType)) g.fail(n, `op ${n.opType} does not belong to ${what}; import it with the general ONNX importer`);
  }
  const inputs = model.graph.inputs.filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) throw new OnnxError({ file: model.file }, `${what} takes one input, the file has ${inputs.length}`);
  const shape = inputs[0]!.shape ?? [];
  const layout = shape[1] === 3 ? 'NCHW' : shape[3] === 3 ? 'NHWC' : null;
  if (shape.length !== 4 || !layout) {
    throw new OnnxError({ file: model.file }, `input '${inputs[0]!.name}' should be an RGB image batch (NCHW or NHWC), got [${shape.join(',')}]`);
  }
  const hw = layout === 'NCHW' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  const inputSize = hw.every((d) => typeof d === 'number') ? (hw as [number, number]) : null;
  const outputs = new Set(model.graph.outputs.map((o) => o.name));
  return {
    model, layout, inputSize,
    preprocess: g.preprocess(inputs[0]!.name),
    convs: nodes.filter((n) => n.opType === 'Conv').map((n) => g.conv(n)),
    dense: g.dense(),
    softmax: nodes.some((n) => n.opType === 'Softmax' && n.outputs.some((o) => outputs.has(g.follow(o)))),
  };
}

/** Producers, consumers and constants of the folded graph. */
class GraphIndex {
  private readonly producer = new Map<string, OnnxNode>();
  private readonly consumers = new Map<string, OnnxNode[]>();

  constructor(
    private readonly model: OnnxModel,
    private readonly nodes: OnnxNode[],
    private readonly initializers: Map<string, OnnxTensor>,
    private readonly shapes: Map<string, Dim[]>,
  ) {
    for (const n of nodes) {
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const i of n.inputs) if (i) this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    }
  }

  fail(node: OnnxNode, problem: string): never {
    throw new OnnxError({ file: this.model.file, node }, problem);
  }

  /** The float32 values of a constant input; an error naming the node when it is not a constant. */
  constant(node: OnnxNode, index: number, what: string): OnnxTensor & { values: Float32Array } {
    const t = this.initializers.get(node.inputs[index] ?? '');
    if (!t || !(t.values instanceof Float32Array)) this.fail(node, `${what} (input ${index}) must be a float constant`);
    return t as OnnxTensor & { values: Float32Array };
  }

  /** The value after Identity/Dropout nodes that are its only consumer. */
  follow(value: string): string {
    let v = value;
    for (;;) {
      const c = this.consumers.get(v) ?? [];
      if (c.length !== 1 || !PASS_THROUGH.has(c[0]!.opType)) return v;
      v = c[0]!.outputs[0]!;
    }
  }

  /** The producer of a value, skipping Identity/Dropout. */
  private source(value: string): OnnxNode | undefined {
    let n = this.producer.get(value);
    while (n && PASS_THROUGH.has(n.opType)) n = this.producer.get(n.inputs[0]!);
    return n;
  }

  /** Folds a chain of Mul/Div/Add/Sub by constants (and Transposes) that starts at the graph input. */
  preprocess(input: string): OnnxPlan['preprocess'] {
    const scale = [1, 1, 1];
    const offset = [0, 0, 0];
    let v = input;
    let found = false;
    for (;;) {
      const c = this.consumers.get(v) ?? [];
      if (c.length !== 1) break;
      const n = c[0]!;
      if (PASS_THROUGH.has(n.opType) || n.opType === 'Transpose') {
        v = n.outputs[0]!;
        continue;
      }
      if (!['Mul', 'Div', 'Add', 'Sub'].includes(n.opType)) break;
      const k = n.inputs[0] === v ? 1 : 0;
      const t = this.initializers.get(n.inputs[k] ?? '');
      if (!t || !(t.values instanceof Float32Array) || (t.values.length !== 1 && t.values.length !== 3)) break;
      const at = (i: number) => t.values[t.values.length === 1 ? 0 : i]!;
      for (let i = 0; i < 3; i++) {
        const [a, b, q] = [scale[i]!, offset[i]!, at(i)];
        if (n.opType === 'Mul') [scale[i], offset[i]] = [a * q, b * q];
        else if (n.opType === 'Div') [scale[i], offset[i]] = k === 1 ? [a / q, b / q] : [NaN, NaN];
        else if (n.opType === 'Add') offset[i] = b + q;
        else [scale[i], offset[i]] = k === 1 ? [a, b - q] : [-a, q - b];
      }
      if (scale.some((s) => !Number.isFinite(s))) this.fail(n, 'divides a constant by the input; not an input normalization');
      found = true;
      v = n.outputs[0]!;
    }
    return found ? { scale, offset } : null;
  }

  conv(n: OnnxNode): OnnxConv {
    const a = new NodeAttributes(this.model.file, n);
    const w = this.constant(n, 1, 'weight');
    if (w.dims.length !== 4) this.fail(n, `expects a 2-D convolution weight, got [${w.dims.join(',')}]`);
    const kernel = [w.dims[2]!, w.dims[3]!];
    if (a.ints('dilations', [1, 1]).some((d) => d !== 1)) this.fail(n, 'dilated convolutions are not part of this architecture');
    const strides = a.ints('strides', [1, 1]) as [number, number];
    const own = this.ownPads(n, a, kernel, strides);
    const pre = this.padBefore(n);
    const pads: Pads = [own[0] + pre[0], own[1] + pre[1], own[2] + pre[2], own[3] + pre[3]];
    const bias = n.inputs[2] ? this.constant(n, 2, 'bias').values : null;
    return { node: n, weight: { dims: [...w.dims], values: w.values }, bias, group: a.int('group', 1), strides, pads, bn: this.batchNormAfter(n) };
  }

  /** The conv's own pads as [top, bottom, left, right] (explicit, or auto_pad resolved on the inferred size). */
  private ownPads(n: OnnxNode, a: NodeAttributes, k: number[], s: number[]): Pads {
    const auto = a.string('auto_pad', 'NOTSET');
    if (auto === 'NOTSET') {
      const p = a.ints('pads', [0, 0, 0, 0]);
      return [p[0]!, p[2]!, p[1]!, p[3]!];
    }
    if (auto === 'VALID') return [0, 0, 0, 0];
    const shape = this.shapes.get(n.inputs[0]!);
    const hw = shape?.slice(2);
    if (!hw || hw.length !== 2 || hw.some((d) => typeof d !== 'number')) this.fail(n, `auto_pad ${auto} needs a known input size`);
    const axis = (size: number, i: number): [number, number] => {
      const total = Math.max((Math.ceil(size / s[i]!) - 1) * s[i]! + k[i]! - size, 0);
      const small = Math.floor(total / 2);
      return auto === 'SAME_LOWER' ? [total - small, small] : [small, total - small];
    };
    return [...axis(hw![0] as number, 0), ...axis(hw![1] as number, 1)] as Pads;
  }

  /** A constant-zero Pad feeding the conv, directly (NCHW) or through a Transpose to NCHW (NHWC pads). */
  private padBefore(conv: OnnxNode): Pads {
    let p = this.source(conv.inputs[0]!);
    let nhwc = false;
    if (p?.opType === 'Transpose') {
      const perm = new NodeAttributes(this.model.file, p).ints('perm', []);
      const from = this.source(p.inputs[0]!);
      if (perm.join() !== '0,3,1,2' || from?.opType !== 'Pad') return [0, 0, 0, 0];
      [p, nhwc] = [from, true];
    }
    if (p?.opType !== 'Pad') return [0, 0, 0, 0];
    const a = new NodeAttributes(this.model.file, p);
    if (a.string('mode', 'constant') !== 'constant') this.fail(p, `pad mode '${a.string('mode')}' is not zero padding`);
    const fromInput = p.inputs[1] ? this.initializers.get(p.inputs[1]) : undefined;
    const pads = fromInput ? Array.from(fromInput.values as ArrayLike<number>) : a.ints('pads', []);
    const value = p.inputs[2] ? this.initializers.get(p.inputs[2])?.values[0] : a.float('value', 0);
    if (pads.length !== 8 || value !== 0) this.fail(p, 'expects constant zero padding of a 4-D tensor');
    const [h, w] = nhwc ? [1, 2] : [2, 3];
    const other = nhwc ? [0, 3] : [0, 1];
    if (other.some((i) => pads[i] !== 0 || pads[i + 4] !== 0)) this.fail(p, 'pads the batch or channel axis');
    return [pads[h]!, pads[h + 4]!, pads[w]!, pads[w + 4]!];
  }

  private batchNormAfter(conv: OnnxNode): OnnxBatchNorm | null {
    const out = this.follow(conv.outputs[0]!);
    const c = this.consumers.get(out) ?? [];
    const n = c[0];
    if (c.length !== 1 || n?.opType !== 'BatchNormalization' || n.inputs[0] !== out) return null;
    const a = new NodeAttributes(this.model.file, n);
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i, j) => this.constant(n, i, ['scale', 'B', 'mean', 'var'][j]!).values) as Float32Array[];
    return { node: n, gamma: gamma!, beta: beta!, mean: mean!, variance: variance!, epsilon: a.float('epsilon', 1e-5) };
  }

  /** The classifier: Gemm (any transB) or MatMul followed by an Add of a constant bias. */
  dense(): OnnxPlan['dense'] {
    const gemm = this.nodes.filter((n) => n.opType === 'Gemm' || n.opType === 'MatMul');
    if (gemm.length === 0) return null;
    if (gemm.length > 1) this.fail(gemm[1]!, 'a second dense layer; the architecture has one classifier');
    const n = gemm[0]!;
    const w = this.constant(n, 1, 'weight');
    if (n.opType === 'Gemm') {
      const a = new NodeAttributes(this.model.file, n);
      if (a.int('transA', 0) !== 0 || a.float('alpha', 1) !== 1 || a.float('beta', 1) !== 1) this.fail(n, 'expects transA = 0, alpha = beta = 1');
      const kernel = denseKernel({ dims: [...w.dims], values: w.values }, a.int('transB', 0) === 1);
      const bias = n.inputs[2] ? this.constant(n, 2, 'bias').values : new Float32Array(kernel.dims[1]!);
      return { node: n, kernel, bias: this.checkBias(n, bias, kernel.dims[1]!) };
    }
    const kernel = denseKernel({ dims: [...w.dims], values: w.values }, false);
    const add = (this.consumers.get(this.follow(n.outputs[0]!)) ?? []).find((c) => c.opType === 'Add');
    const k = add ? add.inputs.findIndex((i) => this.initializers.has(i)) : -1;
    const bias = add && k >= 0 ? this.constant(add, k, 'bias').values : new Float32Array(kernel.dims[1]!);
    return { node: n, kernel, bias: this.checkBias(add ?? n, bias, kernel.dims[1]!) };
  }

  private checkBias(n: OnnxNode, bias: Float32Array, classes: number): Float32Array {
    if (bias.length !== classes) this.fail(n, `bias has ${bias.length} values for ${classes} classes`);
    return bias;
  }
}
