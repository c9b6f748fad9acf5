// Every importer op on small graphs built with GraphBuilder, against onnxruntime-node as the oracle: outputs must
// agree within 1e-4 of the output scale. Plus the errors that name the node.

import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, OnnxError, encodeModel, float, int, ints, str, type WritableAttribute } from '../src/io/onnx/index.js';
import { importedModelInfo, runImported, type HostArray, type ImportOptions } from '../src/io/onnx/import/index.js';
import { importOnnx } from '../src/api/import-onnx.js';
import type { Model } from '../src/train/model.js';
import { useDevice } from './helpers/gpu.js';

useDevice();
ort.env.logLevel = 'error';

let seed = 42;
function random(n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => {
    seed = (seed * 16807) % 2147483647;
    return lo + (hi - lo) * (seed / 2147483647);
  });
}
const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1);

/** A graph under test: builder plus the inputs it declares. */
class Graph {
  readonly g = new GraphBuilder('test');
  readonly feeds: Record<string, HostArray> = {};
  private k = 0;

  input(name: string, shape: number[], lo = -1, hi = 1): string {
    this.g.input(name, 'float32', ['N', ...shape.slice(1)]);
    this.feeds[name] = { shape, data: random(size(shape), lo, hi) };
    return name;
  }

  weight(dims: number[], lo = -1, hi = 1): string {
    return this.g.floatInit(`w${this.k++}`, dims, random(size(dims), lo, hi));
  }

  ints(values: number[]): string {
    return this.g.int64Init(`i${this.k++}`, [values.length], values);
  }

  scalar(v: number): string {
    return this.g.floatInit(`s${this.k++}`, [], Float32Array.of(v));
  }

  node(op: string, inputs: string[], attrs: Record<string, WritableAttribute> = {}, name?: string): string {
    const out = `v${this.k++}`;
    this.g.node(op, inputs, [out], attrs, name ?? `${op.toLowerCase()}/node${this.k}`);
    return out;
  }

  output(name: string): void {
    this.g.output(name, 'float32', []);
  }

  bytes(opset: number): Uint8Array {
    return encodeModel(this.g, { opsets: [{ domain: '', version: opset }] });
  }
}

const models: Model[] = [];
afterAll(() => models.forEach((m) => m.dispose()));

/** Runs the graph in onnxruntime and in Graft; returns the imported model. */
async function check(t: Graph, outputs: string[], opset = 17, options: ImportOptions = {}): Promise<Model> {
  for (const o of outputs) t.output(o);
  const bytes = t.bytes(opset);
  const session = await ort.InferenceSession.create(bytes);
  const feeds = Object.fromEntries(Object.entries(t.feeds).map(([k, a]) => [k, new ort.Tensor('float32', a.data, a.shape)]));
  const want = await session.run(feeds);
  const model = importOnnx(bytes, options);
  models.push(model);
  const info = importedModelInfo(model)!;
  const got = await runImported(model, info.inputs.map((i) => t.feeds[i.name]!));
  outputs.forEach((name, k) => {
    const w = want[name]!;
    expect(got[k]!.shape, name).toEqual([...w.dims]);
    const wd = w.data as Float32Array;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < wd.length; i++) {
      scale = Math.max(scale, Math.abs(wd[i]!));
      diff = Math.max(diff, Math.abs(wd[i]! - got[k]!.data[i]!));
    }
    expect(diff, `${name}: max |diff| ${diff} at scale ${scale}`).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-3));
  });
  return model;
}

describe('Conv', () => {
  const conv = (attrs: Record<string, WritableAttribute>, x = [2, 4, 9, 9], w = [6, 4, 3, 3], bias = true, opset = 17) => {
    const t = new Graph();
    const inputs = [t.input('x', x), t.weight(w)];
    if (bias) inputs.push(t.weight([w[0]!]));
    return check(t, [t.node('Conv', inputs, attrs)], opset);
  };
  it('explicit symmetric and asymmetric pads, strides', async () => {
    await conv({ pads: ints([1, 1, 1, 1]) });
    await conv({ pads: ints([0, 1, 2, 0]), strides: ints([2, 2]) });
    await conv({ strides: ints([2, 1]) }, [1, 4, 10, 7], [5, 4, 3, 2], false);
  });
  it('auto_pad SAME_UPPER, SAME_LOWER, VALID with even and odd sizes', async () => {
    for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
      await conv({ auto_pad: str(autoPad), strides: ints([2, 2]) }, [1, 4, 8, 8]);
      await conv({ auto_pad: str(autoPad), strides: ints([2, 2]) }, [2, 4, 9, 9], [6, 4, 4, 4]);
    }
  });
  it('dilations', async () => {
    await conv({ dilations: ints([2, 2]), pads: ints([2, 2, 2, 2]) });
  });
  it('depthwise (group = channels), with a depth multiplier, and general groups', async () => {
    const model = await conv({ group: int(4), pads: ints([1, 1, 1, 1]) }, [2, 4, 8, 8], [4, 1, 3, 3]);
    expect(model.layers[1]!.className).toBe('DepthwiseConv2D');
    await conv({ group: int(4), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, [2, 4, 8, 8], [8, 1, 3, 3]);
    const grouped = await conv({ group: int(2), pads: ints([1, 0, 1, 0]) }, [2, 4, 6, 6], [6, 2, 3, 3]);
    expect(grouped.layers[1]!.className).toBe('GroupedConv2D');
  });
  it('fuses Relu, Clip(0,6) and Sigmoid+Mul (SiLU) into the convolution', async () => {
    for (const act of ['Relu', 'Clip', 'SiLU']) {
      const t = new Graph();
      const y = t.node('Conv', [t.input('x', [2, 3, 6, 6]), t.weight([4, 3, 3, 3]), t.weight([4])], { pads: ints([1, 1, 1, 1]) }, 'conv');
      let z: string;
      if (act === 'Relu') z = t.node('Relu', [y]);
      else if (act === 'Clip') z = t.node('Clip', [y, t.scalar(0), t.scalar(6)]);
      else z = t.node('Mul', [y, t.node('Sigmoid', [y])]);
      const model = await check(t, [z], 13);
      expect(model.layers.map((l) => l.className)).toEqual(['InputLayer', 'Conv2D']);
    }
  });
  it('1x1 conv on a [N, C, 1, 1] squeeze-excite branch, multiplied back onto the map', async () => {
    const t = new Graph();
    const x = t.input('x', [2, 6, 5, 5]);
    const pooled = t.node('GlobalAveragePool', [x]);
    const gate = t.node('Sigmoid', [t.node('Conv', [pooled, t.weight([6, 6, 1, 1]), t.weight([6])])]);
    await check(t, [t.node('Mul', [x, gate])]);
  });
});

describe('normalization and activations', () => {
  it('BatchNormalization on a 4-D map and on [N, C]', async () => {
    for (const shape of [[2, 5, 4, 4], [3, 5]]) {
      const t = new Graph();
      const bn = [t.weight([5]), t.weight([5]), t.weight([5]), t.weight([5], 0.5, 2)];
      const model = await check(t, [t.node('BatchNormalization', [t.input('x', shape), ...bn], { epsilon: float(1e-3) })]);
      expect(model.layers[1]!.className).toBe('BatchNormalization');
    }
  });
  it('Relu, Sigmoid, Tanh, HardSwish, HardSigmoid (default and custom alpha/beta)', async () => {
    const t = new Graph();
    const x = t.input('x', [2, 3, 4, 4], -4, 4);
    const outs = [t.node('Relu', [x]), t.node('Sigmoid', [x]), t.node('Tanh', [x]), t.node('HardSwish', [x]),
      t.node('HardSigmoid', [x]), t.node('HardSigmoid', [x], { alpha: float(0.3), beta: float(0.4) })];
    await check(t, outs, 14);
  });
  it('Clip in attribute form (opset 10) and input form (opset 13, min only, both, none)', async () => {
    const a = new Graph();
    const xa = a.input('x', [2, 7], -3, 3);
    await check(a, [a.node('Clip', [xa], { min: float(-0.5), max: float(0.7) }), a.node('Clip', [xa], { min: float(0), max: float(6) })], 10);
    const b = new Graph();
    const xb = b.input('x', [2, 7], -3, 3);
    await check(b, [b.node('Clip', [xb, b.scalar(-0.25)]), b.node('Clip', [xb, b.scalar(-1), b.scalar(0.5)]), b.node('Clip', [xb, '', b.scalar(1)]), b.node('Clip', [xb])], 13);
  });
  it('Softmax: opset 11 axis 1 on 4-D (flattened tail), opset 13 axis 1 and -1', async () => {
    const a = new Graph();
    const xa = a.input('x', [2, 3, 2, 2], -3, 3);
    await check(a, [a.node('Softmax', [xa], { axis: int(1) }), a.node('Softmax', [xa], { axis: int(3) }), a.node('Softmax', [xa])], 11);
    const b = new Graph();
    const xb = b.input('x', [2, 3, 2, 2], -3, 3);
    await check(b, [b.node('Softmax', [xb], { axis: int(1) }), b.node('Softmax', [xb], { axis: int(-1) })], 13);
    const c = new Graph();
    const conv = c.node('Conv', [c.input('x', [2, 3, 4, 4]), c.weight([5, 3, 1, 1])]);
    await check(c, [c.node('Softmax', [conv], { axis: int(1) })], 13);
  });
});

describe('elementwise arithmetic', () => {
  it('two computed inputs with broadcasting (map x pooled), all four ops', async () => {
    const t = new Graph();
    const x = t.input('x', [2, 3, 4, 4]);
    const p = t.node('Add', [t.node('GlobalAveragePool', [x]), t.scalar(2)]);
    await check(t, [t.node('Add', [x, p]), t.node('Sub', [p, x]), t.node('Mul', [x, p]), t.node('Div', [x, p])]);
  });
  it('constant operands: scalars, per-channel [C,1,1], full [1,C,H,W], reversed, and constant-constant', async () => {
    const t = new Graph();
    const x = t.node('Conv', [t.input('x', [2, 3, 4, 4]), t.weight([3, 3, 1, 1])]);
    const ch = t.weight([3, 1, 1], 0.5, 2);
    const full = t.weight([1, 3, 4, 4], 0.5, 2);
    const folded = t.node('Mul', [t.weight([3, 1, 1]), t.scalar(3)]);
    await check(t, [
      t.node('Add', [x, t.scalar(0.5)]), t.node('Sub', [t.scalar(0.5), x]), t.node('Mul', [t.scalar(3), x]), t.node('Div', [x, t.scalar(4)]),
      t.node('Div', [t.scalar(1), t.node('Add', [t.node('Relu', [x]), t.scalar(1)])]),
      t.node('Sub', [x, ch]), t.node('Div', [x, ch]), t.node('Mul', [full, x]), t.node('Add', [x, folded]),
    ]);
  });
  it('NHWC input with per-channel [3] constants (tf2onnx Normalization) then Transpose into a Conv', async () => {
    const t = new Graph();
    let x = t.input('x', [2, 5, 5, 3], 0, 255);
    x = t.node('Mul', [x, t.scalar(1 / 255)]);
    x = t.node('Div', [t.node('Sub', [x, t.weight([3], 0.4, 0.5)]), t.weight([3], 0.2, 0.3)]);
    const y = t.node('Conv', [t.node('Transpose', [x], { perm: ints([0, 3, 1, 2]) }), t.weight([4, 3, 3, 3])], { pads: ints([1, 1, 1, 1]) });
    const model = await check(t, [y, t.node('Transpose', [y], { perm: ints([0, 2, 3, 1]) })], 13);
    expect(importedModelInfo(model)!.inputs[0]!.perm).toEqual([0, 1, 2, 3]);
    expect(model.layers.some((l) => l.className === 'Transpose')).toBe(false);
  });
});

describe('Gemm and MatMul', () => {
  it('Gemm with transA, transB, alpha, beta and C of shape [N], [1,N], scalar and none', async () => {
    const cases: [Record<string, WritableAttribute>, number[] | null, number[]][] = [
      [{}, [5], [4, 5]],
      [{ transB: int(1), alpha: float(0.5), beta: float(2) }, [1, 5], [5, 4]],
      [{ transA: int(1), beta: float(0.3) }, [], [4, 5]],
      [{ transA: int(1), transB: int(1) }, null, [5, 4]],
    ];
    for (const [attrs, c, b] of cases) {
      const t = new Graph();
      const a = attrs.transA ? t.input('x', [4, 3]) : t.input('x', [3, 4]);
      const inputs = [a, t.weight(b)];
      if (c) inputs.push(c.length ? t.weight(c) : t.scalar(0.7));
      // NOTE: with transA the contraction runs over the input's first axis, so the batch must be fixed.
      await check(t, [t.node('Gemm', inputs, attrs)], 13, attrs.transA ? { batchSize: 4 } : {});
    }
  });
  it('MatMul with a constant weight (and a fused bias Add), on rank 3, and of two computed tensors', async () => {
    const t = new Graph();
    const x = t.input('x', [2, 6]);
    const m = t.node('MatMul', [x, t.weight([6, 4])]);
    const biased = t.node('Add', [t.node('MatMul', [x, t.weight([6, 3])]), t.weight([3])]);
    const model = await check(t, [m, biased]);
    expect(model.layers.filter((l) => l.className === 'Dense')).toHaveLength(2);
    const u = new Graph();
    const y = u.input('y', [2, 3, 4]);
    await check(u, [u.node('MatMul', [y, u.weight([4, 5])]), u.node('MatMul', [y, u.node('Transpose', [y], { perm: ints([0, 2, 1]) })])]);
  });
});

describe('pooling and reductions', () => {
  it('GlobalAveragePool, MaxPool and AveragePool with pads, strides, SAME_UPPER, ceil_mode, count_include_pad', async () => {
    const t = new Graph();
    const x = t.input('x', [2, 3, 7, 7]);
    await check(t, [
      t.node('GlobalAveragePool', [x]),
      t.node('MaxPool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }),
      t.node('MaxPool', [x], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) }),
      t.node('MaxPool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), auto_pad: str('SAME_UPPER') }),
      t.node('AveragePool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }),
      t.node('AveragePool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 0, 1, 0]), count_include_pad: int(1) }),
      t.node('AveragePool', [x], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), ceil_mode: int(1) }),
    ]);
  });
  it('ReduceMean over H,W (keepdims 0 and 1), over channels, and with axes as an input (opset 18)', async () => {
    const t = new Graph();
    const x = t.input('x', [2, 3, 4, 5]);
    await check(t, [
      t.node('ReduceMean', [x], { axes: ints([2, 3]), keepdims: int(1) }), t.node('ReduceMean', [x], { axes: ints([-1, -2]), keepdims: int(0) }),
      t.node('ReduceMean', [x], { axes: ints([1]) }), t.node('ReduceMean', [x], { axes: ints([1, 3]), keepdims: int(0) }),
    ], 13);
    const u = new Graph();
    const y = u.input('x', [2, 3, 4, 5]);
    await check(u, [u.node('ReduceMean', [y, u.ints([2, 3])], { keepdims: int(0) })], 18);
  });
});

describe('shape and layout ops', () => {
  it('Flatten of an NCHW map keeps the NCHW element order; Reshape with 0 and -1', async () => {
    const t = new Graph();
    const y = t.node('Conv', [t.input('x', [2, 3, 4, 4]), t.weight([5, 3, 3, 3])], { pads: ints([1, 1, 1, 1]) });
    await check(t, [
      t.node('Flatten', [y]), t.node('Reshape', [y, t.ints([0, -1])]), t.node('Reshape', [y, t.ints([0, 5, -1])]),
      t.node('Reshape', [y, t.ints([-1, 80])]), t.node('Flatten', [t.node('GlobalAveragePool', [y])]),
    ]);
  });
  it('Reshape target computed by a Shape -> Gather -> Unsqueeze -> Concat chain (folded)', async () => {
    const t = new Graph();
    const x = t.input('x', [3, 2, 4, 4]);
    const batch = t.node('Unsqueeze', [t.node('Gather', [t.node('Shape', [x]), t.g.int64Init('zero', [], [0])], { axis: int(0) }), t.ints([0])]);
    const target = t.node('Concat', [batch, t.ints([-1])], { axis: int(0) });
    await check(t, [t.node('Reshape', [t.node('Relu', [x]), target])], 13);
  });
  it('Transpose (free), as a graph output and before Flatten', async () => {
    const t = new Graph();
    const y = t.node('Conv', [t.input('x', [2, 3, 4, 5]), t.weight([4, 3, 1, 1])]);
    const nhwc = t.node('Transpose', [y], { perm: ints([0, 2, 3, 1]) });
    await check(t, [nhwc, t.node('Flatten', [nhwc]), t.node('Transpose', [y], { perm: ints([0, 1, 3, 2]) })]);
  });
  it('Squeeze and Unsqueeze in attribute (opset 11) and input (opset 13) forms', async () => {
    const a = new Graph();
    const pa = a.node('GlobalAveragePool', [a.input('x', [2, 3, 4, 4])]);
    const sa = a.node('Squeeze', [pa], { axes: ints([2, 3]) });
    await check(a, [sa, a.node('Unsqueeze', [sa], { axes: ints([2]) }), a.node('Squeeze', [pa])], 11);
    const b = new Graph();
    const pb = b.node('GlobalAveragePool', [b.input('x', [2, 3, 4, 4])]);
    const sb = b.node('Squeeze', [pb, b.ints([3, 2])]);
    const ub = b.node('Unsqueeze', [sb, b.ints([-1, 2])]);
    await check(b, [sb, ub, b.node('Mul', [b.node('Conv', [b.input('y', [2, 3, 4, 4]), b.weight([3, 3, 1, 1])]), ub])], 13);
  });
  it('Concat of convolutions along channels and of matrices along features', async () => {
    const t = new Graph();
    const x = t.input('x', [2, 3, 4, 4]);
    const a = t.node('Conv', [x, t.weight([2, 3, 1, 1])]);
    const b = t.node('Conv', [x, t.weight([5, 3, 3, 3])], { pads: ints([1, 1, 1, 1]) });
    const f = t.node('Flatten', [t.node('GlobalAveragePool', [b])]);
    await check(t, [t.node('Concat', [a, b, a], { axis: int(1) }), t.node('Concat', [f, f], { axis: int(-1) })]);
  });
  it('Pad (constant mode): attribute form (opset 10), input form with a value, spatial-only zero padding', async () => {
    const a = new Graph();
    const xa = a.input('x', [2, 3, 4, 4]);
    await check(a, [a.node('Pad', [xa], { pads: ints([0, 1, 2, 0, 0, 0, 1, 3]), value: float(0.5) })], 10);
    const b = new Graph();
    const xb = b.input('x', [2, 3, 4, 4]);
    const conv = b.node('Conv', [xb, b.weight([3, 3, 1, 1])]);
    await check(b, [b.node('Pad', [conv, b.ints([0, 0, 1, 0, 0, 0, 2, 1])]), b.node('Pad', [xb, b.ints([0, 1, 0, 1, 0, 2, 0, 0]), b.scalar(-1)])], 13);
  });
  it('Identity, Dropout (inference), Cast to float', async () => {
    const t = new Graph();
    const x = t.input('x', [2, 6]);
    await check(t, [t.node('Identity', [x]), t.node('Dropout', [t.node('Relu', [x])]), t.node('Cast', [x], { to: int(1) })], 13);
  });
});

describe('import errors name the node', () => {
  const importError = (t: Graph, outputs: string[], opset = 13): OnnxError => {
    for (const o of outputs) t.output(o);
    try {
      importOnnx(t.bytes(opset));
    } catch (e) {
      expect(e).toBeInstanceOf(OnnxError);
      return e as OnnxError;
    }
    throw new Error('import did not fail');
  };
  it('unsupported op', () => {
    const t = new Graph();
    const e = importError(t, [t.node('Erf', [t.input('x', [1, 4])], {}, 'my_erf')]);
    expect(e.message).toMatch(/node 'my_erf' \(Erf\).*op 'Erf' is not supported/);
  });
  it('Conv whose group does not divide the channels', () => {
    const t = new Graph();
    const e = importError(t, [t.node('Conv', [t.input('x', [1, 6, 4, 4]), t.weight([4, 2, 1, 1])], { group: int(4) }, 'bad_conv')]);
    expect(e.message).toMatch(/node 'bad_conv' \(Conv\).*group 4 does not divide/);
  });
  it('Conv with a computed weight, Pad in reflect mode, a symbolic spatial dimension', () => {
    const a = new Graph();
    const x = a.input('x', [1, 2, 1, 1]);
    const w = a.node('Relu', [x]);
    expect(importError(a, [a.node('Conv', [a.input('y', [1, 2, 3, 3]), w], {}, 'c')]).message).toMatch(/node 'c' \(Conv\).*weight.*must be a constant/);
    const b = new Graph();
    expect(importError(b, [b.node('Pad', [b.input('x', [1, 2, 3, 3]), b.ints([0, 0, 1, 1, 0, 0, 1, 1])], { mode: str('reflect') }, 'p')]).message)
      .toMatch(/node 'p' \(Pad\).*mode 'reflect'/);
    const c = new GraphBuilder('sym');
    c.input('x', 'float32', ['N', 3, 'H', 'W']);
    c.node('Relu', ['x'], ['y']);
    c.output('y', 'float32', []);
    expect(() => importOnnx(encodeModel(c, { opsets: [{ domain: '', version: 13 }] }))).toThrow(/symbolic dimension 2 \('H'\); pass inputShape/);
    const model = importOnnx(encodeModel(c, { opsets: [{ domain: '', version: 13 }] }), { inputShape: [5, 6, 3] });
    models.push(model);
    expect(model.inputs[0]!.shape).toEqual([null, 5, 6, 3]);
  });
});
