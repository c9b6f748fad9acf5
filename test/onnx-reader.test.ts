// ONNX reader: tensor decoding (all storage forms), attributes, opsets, symbolic dims, external data, graph
// analysis (order, folding, shapes, stats) and weight layout conversion.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, NodeAttributes, OnnxError, convWeightLayout, denseKernel, encodeModel, float, floats, foldConstants, graphStats, int, ints, parseOnnx, str, topologicalOrder, type Dim, type OnnxModel } from '../src/io/onnx/index.js';
import { readOnnxFile } from '../src/node/onnx-file.js';
import { DTYPE_CODES, onnx, type ProtoTensor } from '../src/io/onnx/proto.js';

const tmp = mkdtempSync(join(tmpdir(), 'graft-onnx-reader-'));

function encode(g: GraphBuilder, opset = 13, irVersion = 8): Uint8Array {
  return encodeModel(g, { opsets: [{ domain: '', version: opset }], irVersion });
}

/** A model whose only initializer is the given TensorProto, decoded back. */
function decodeInitializer(t: ProtoTensor): OnnxModel {
  const g = new GraphBuilder('t');
  g.tensorProto(t);
  return parseOnnx(encode(g));
}

describe('tensor decoding', () => {
  it('reads float32 from raw_data and float_data, and float64/int32/int8/uint8/bool from their fields', () => {
    const values = [1.5, -2.25, 3e-8, 65504];
    const raw = new Uint8Array(Float32Array.from(values).buffer);
    const a = decodeInitializer({ name: 'a', dims: [2, 2], dataType: DTYPE_CODES.float32, rawData: raw });
    const b = decodeInitializer({ name: 'b', dims: [4], dataType: DTYPE_CODES.float32, floatData: values });
    expect(Array.from(a.graph.initializers.get('a')!.values)).toEqual(Array.from(Float32Array.from(values)));
    expect(a.graph.initializers.get('a')!.dims).toEqual([2, 2]);
    expect(Array.from(b.graph.initializers.get('b')!.values)).toEqual(Array.from(Float32Array.from(values)));
    const d = decodeInitializer({ name: 'd', dims: [2], dataType: DTYPE_CODES.float64, doubleData: [0.1, -1e300] });
    expect(Array.from(d.graph.initializers.get('d')!.values)).toEqual([0.1, -1e300]);
    const i32 = decodeInitializer({ name: 'i', dims: [3], dataType: DTYPE_CODES.int32, int32Data: [-7, 0, 2 ** 31 - 1] });
    expect(Array.from(i32.graph.initializers.get('i')!.values)).toEqual([-7, 0, 2 ** 31 - 1]);
    const i8 = decodeInitializer({ name: 'i8', dims: [2], dataType: DTYPE_CODES.int8, rawData: Uint8Array.of(0xff, 0x7f) });
    expect(Array.from(i8.graph.initializers.get('i8')!.values)).toEqual([-1, 127]);
    const u8 = decodeInitializer({ name: 'u8', dims: [2], dataType: DTYPE_CODES.uint8, int32Data: [255, 3] });
    expect(Array.from(u8.graph.initializers.get('u8')!.values)).toEqual([255, 3]);
    const bool = decodeInitializer({ name: 'b', dims: [], dataType: DTYPE_CODES.bool, int32Data: [1] });
    expect(bool.graph.initializers.get('b')!.dims).toEqual([]);
    expect(Array.from(bool.graph.initializers.get('b')!.values)).toEqual([1]);
  });

  it('widens float16 (raw and int32_data bit patterns, subnormals, infinities) and bfloat16 to float32', () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x3555, 0x0000, 0x8000];
    const expected = [1, -2, 65504, 2 ** -24, Infinity, -Infinity, 0.333251953125, 0, -0];
    const raw = new Uint8Array(Uint16Array.from(bits).buffer);
    const a = decodeInitializer({ name: 'h', dims: [9], dataType: DTYPE_CODES.float16, rawData: raw });
    const b = decodeInitializer({ name: 'h', dims: [9], dataType: DTYPE_CODES.float16, int32Data: bits });
    for (const m of [a, b]) {
      const t = m.graph.initializers.get('h')!;
      expect(t.dtype).toBe('float16');
      expect(t.values).toBeInstanceOf(Float32Array);
      expect(Array.from(t.values)).toEqual(expected);
    }
    const bf = decodeInitializer({ name: 'bf', dims: [2], dataType: DTYPE_CODES.bfloat16, int32Data: [0x3f80, 0xc040] });
    expect(Array.from(bf.graph.initializers.get('bf')!.values)).toEqual([1, -3]);
  });

  it('reads int64 exactly within ±2^53, maps the INT64_MAX/MIN sentinels, and rejects other large values by name', () => {
    const raw = new DataView(new ArrayBuffer(32));
    raw.setBigInt64(0, -5n, true);
    raw.setBigInt64(8, 2n ** 53n - 1n, true);
    raw.setBigInt64(16, 2n ** 63n - 1n, true);
    raw.setBigInt64(24, -(2n ** 63n), true);
    const m = decodeInitializer({ name: 'shape', dims: [4], dataType: DTYPE_CODES.int64, rawData: new Uint8Array(raw.buffer) });
    expect(Array.from(m.graph.initializers.get('shape')!.values)).toEqual([-5, 2 ** 53 - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]);
    const typed = decodeInitializer({ name: 'axes', dims: [2], dataType: DTYPE_CODES.int64, int64Data: [-1, 3] });
    expect(Array.from(typed.graph.initializers.get('axes')!.values)).toEqual([-1, 3]);
    raw.setBigInt64(0, 2n ** 60n, true);
    expect(() => decodeInitializer({ name: 'huge', dims: [4], dataType: DTYPE_CODES.int64, rawData: new Uint8Array(raw.buffer) }))
      .toThrow(/tensor 'huge'.*outside the exactly representable range/);
  });
});

describe('model structure', () => {
  it('round-trips nodes, every writable attribute type, symbolic dims and the producer through writer and reader', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', ['N', 3, 'H', null]);
    g.floatInit('w', [4, 3, 1, 1], Float32Array.from({ length: 12 }, (_, i) => i / 4));
    g.node('Conv', ['x', 'w'], ['y'], { group: int(1), pads: ints([0, 0, 0, 0]), strides: ints([1, 1]) }, 'conv');
    g.node('LeakyRelu', ['y'], ['z'], { alpha: float(0.2) }, 'leaky');
    g.node('Custom', ['z'], ['out'], { mode: str('fast'), scales: floats([0.5, 2]), tags: { type: 'strings', value: ['a', 'b'] } }, 'custom');
    g.output('out', 'float32', ['N', 4, 'H', null]);
    const m = parseOnnx(encodeModel(g, { opsets: [{ domain: '', version: 17 }], producerName: 'me', producerVersion: '1.2' }), { file: 'mem.onnx' });
    expect(m.opset).toBe(17);
    expect(m.producerName).toBe('me');
    expect(m.graph.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['N', 3, 'H', null] }]);
    const [conv, leaky, custom] = m.graph.nodes;
    expect(conv!.attributes.get('pads')).toEqual({ type: 'ints', value: [0, 0, 0, 0] });
    expect(new NodeAttributes(m.file, conv!).int('group')).toBe(1);
    expect(new NodeAttributes(m.file, leaky!).float('alpha')).toBeCloseTo(0.2, 6);
    const a = new NodeAttributes(m.file, custom!);
    expect(a.string('mode')).toBe('fast');
    expect(a.floats('scales')).toEqual([0.5, 2]);
    expect(custom!.attributes.get('tags')).toEqual({ type: 'strings', value: ['a', 'b'] });
    expect(a.int('missing', 7)).toBe(7);
    expect(() => a.int('mode')).toThrow(/mem\.onnx: node 'custom' \(Custom\): attribute 'mode' should be of type int, got string/);
    expect(() => a.ints('absent')).toThrow(/missing required attribute 'absent'/);
  });

  it('decodes tensor, graph and untyped (old-style) attributes', () => {
    const sub = { name: 'body', node: [{ opType: 'Identity', input: ['a'], output: ['b'], name: 'inner' }], output: [{ name: 'b' }] };
    const model = onnx.ModelProto.create({
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g', input: [{ name: 'c' }], output: [{ name: 'y' }],
        node: [
          { opType: 'Constant', output: ['k'], name: 'const',
            attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims: [2], dataType: 1, floatData: [1, 2] } }] },
          { opType: 'If', input: ['c'], output: ['y'], name: 'if',
            attribute: [{ name: 'then_branch', type: onnx.AttributeProto.AttributeType.GRAPH, g: sub },
              { name: 'count', i: 3 }, { name: 'ratio', f: 0.5 }, { name: 'list', ints: [1, 2] }] },
        ],
      },
    });
    const m = parseOnnx(onnx.ModelProto.encode(model).finish());
    const k = m.graph.nodes[0]!.attributes.get('value');
    expect(k?.type === 'tensor' && Array.from(k.value.values)).toEqual([1, 2]);
    const ifNode = m.graph.nodes[1]!;
    const branch = ifNode.attributes.get('then_branch');
    expect(branch?.type === 'graph' && branch.value.nodes[0]!.name).toBe('inner');
    expect(ifNode.attributes.get('count')).toEqual({ type: 'int', value: 3 });
    expect(ifNode.attributes.get('ratio')).toEqual({ type: 'float', value: 0.5 });
    expect(ifNode.attributes.get('list')).toEqual({ type: 'ints', value: [1, 2] });
  });

  it('accepts opsets 7..21 and rejects others with the opset named', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [1]);
    g.node('Relu', ['x'], ['y']);
    g.output('y', 'float32', [1]);
    for (const v of [7, 13, 21]) expect(parseOnnx(encode(g, v)).opset).toBe(v);
    expect(() => parseOnnx(encode(g, 6), { file: 'old.onnx' })).toThrow(/old\.onnx: uses opset 6 .* opsets 7 to 21/);
    expect(() => parseOnnx(encode(g, 22))).toThrow(/uses opset 22/);
    const noDefault = encodeModel(g, { opsets: [{ domain: 'ai.onnx.ml', version: 3 }] });
    expect(() => parseOnnx(noDefault)).toThrow(OnnxError);
  });

  it('drops initializers listed among the inputs of IR < 4 files', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [2]);
    g.input('b', 'float32', [2]);
    g.floatInit('b', [2], Float32Array.of(1, 2));
    g.node('Add', ['x', 'b'], ['y']);
    g.output('y', 'float32', [2]);
    expect(parseOnnx(encode(g, 8, 3)).graph.inputs.map((i) => i.name)).toEqual(['x']);
    expect(parseOnnx(encode(g, 8, 4)).graph.inputs.map((i) => i.name)).toEqual(['x', 'b']);
  });

  it('reads external data at an offset from a file inside the model folder', () => {
    const dir = join(tmp, 'ext');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const payload = Float32Array.of(9, 8, 7, 6, 5, 4);
    const bytes = new Uint8Array(16 + payload.byteLength);
    bytes.set(new Uint8Array(payload.buffer), 16);
    writeFileSync(join(dir, 'data', 'w.bin'), bytes);
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [2, 3]);
    g.tensorProto({
      name: 'w', dims: [2, 3], dataType: DTYPE_CODES.float32, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: 'location', value: 'data/w.bin' }, { key: 'offset', value: '16' }, { key: 'length', value: '24' }],
    });
    g.node('Add', ['x', 'w'], ['y']);
    g.output('y', 'float32', [2, 3]);
    writeFileSync(join(dir, 'm.onnx'), encode(g));
    const m = readOnnxFile(join(dir, 'm.onnx'));
    expect(Array.from(m.graph.initializers.get('w')!.values)).toEqual([9, 8, 7, 6, 5, 4]);
    expect(() => parseOnnx(encode(g), { file: 'mem' })).toThrow(/tensor 'w': uses external data, which needs the model to be read from a file/);
  });
});

describe('graph analysis', () => {
  /** a -> (b, c independent) -> d, in file order. */
  function makeSortedChain(): Uint8Array {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [2]);
    g.node('Relu', ['x'], ['a'], {}, 'a');
    g.node('Relu', ['a'], ['b'], {}, 'b');
    g.node('Relu', ['x'], ['c'], {}, 'c');
    g.node('Add', ['b', 'c'], ['d'], {}, 'd');
    g.output('d', 'float32', [2]);
    return encode(g);
  }

  /** x [N,C,8,8] -> Conv -> Shape/Gather/Unsqueeze/Concat -> Reshape [N, -1] -> Gemm, with nodes listed out of order. */
  function flattenByShapeChain(batch: Dim): OnnxModel {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [batch, 2, 8, 8]);
    g.floatInit('w', [4, 2, 3, 3], new Float32Array(72).fill(0.1));
    g.floatInit('fc', [5, 64], new Float32Array(320).fill(0.01));
    g.int64Init('zero', [], [0]);
    g.node('Gemm', ['flat', 'fc'], ['y'], { transB: int(1) }, 'gemm');
    g.node('Reshape', ['pool', 'target'], ['flat'], {}, 'reshape');
    g.node('Conv', ['x', 'w'], ['c'], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }, 'conv');
    g.node('MaxPool', ['c'], ['pool'], { kernel_shape: ints([1, 1]) }, 'pool');
    g.node('Shape', ['pool'], ['s'], {}, 'shape');
    g.node('Gather', ['s', 'zero'], ['n'], { axis: int(0) }, 'gather');
    g.node('Unsqueeze', ['n', 'axes'], ['n1'], {}, 'unsqueeze');
    g.node('Constant', [], ['axes'], {}, 'axes_const');
    g.node('Constant', [], ['minus1'], {}, 'minus1_const');
    g.node('Concat', ['n1', 'minus1'], ['target'], { axis: int(0) }, 'concat');
    g.output('y', 'float32', [batch, 5]);
    const m = parseOnnx(encode(g), { file: 'chain.onnx' });
    // NOTE: the writer has no tensor attributes; set the Constant values on the decoded nodes.
    m.graph.nodes.find((n) => n.name === 'axes_const')!.attributes.set('value_ints', { type: 'ints', value: [0] });
    m.graph.nodes.find((n) => n.name === 'minus1_const')!.attributes.set('value_ints', { type: 'ints', value: [-1] });
    return m;
  }

  it('orders nodes topologically, leaving an already sorted file as it is', () => {
    const sorted = parseOnnx(makeSortedChain());
    expect(topologicalOrder(sorted).map((n) => n.name)).toEqual(sorted.graph.nodes.map((n) => n.name));
    const m = flattenByShapeChain('N');
    const order = topologicalOrder(m).map((n) => n.name);
    const pos = (name: string): number => order.indexOf(name);
    expect(order).toHaveLength(m.graph.nodes.length);
    for (const n of m.graph.nodes) {
      for (const input of n.inputs) {
        const producer = m.graph.nodes.find((p) => p.outputs.includes(input));
        if (producer) expect(pos(producer.name)).toBeLessThan(pos(n.name));
      }
    }
  });

  it('folds the Shape/Gather/Unsqueeze/Concat chain, keeping a symbolic batch symbolic and a static one numeric', () => {
    const dynamic = foldConstants(flattenByShapeChain('N'));
    expect(dynamic.graph.nodes.map((n) => n.opType).sort()).toEqual(['Conv', 'Gemm', 'MaxPool', 'Reshape']);
    expect(dynamic.symbolic.get('target')).toEqual({ dtype: 'int64', dims: [2], values: ['N', -1] });
    expect(dynamic.shapes.get('c')).toEqual(['N', 4, 4, 4]);
    expect(dynamic.shapes.get('flat')).toEqual(['N', 64]);
    expect(dynamic.shapes.get('y')).toEqual(['N', 5]);
    const fixed = foldConstants(flattenByShapeChain(3));
    expect(Array.from(fixed.graph.initializers.get('target')!.values)).toEqual([3, -1]);
    expect(fixed.graph.initializers.has('zero')).toBe(false);
    expect(fixed.foldedNodes).toBe(6);
  });

  it('counts ops and parameters and lists unsupported nodes by name', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', ['N', 3]);
    g.floatInit('w', [3, 4], new Float32Array(12));
    g.floatInit('b', [4], new Float32Array(4));
    g.floatInit('unused', [100], new Float32Array(100));
    g.node('MatMul', ['x', 'w'], ['h'], {}, 'mm');
    g.node('Add', ['h', 'b'], ['a'], {}, 'bias');
    g.node('Erf', ['a'], ['e'], {}, 'erf_1');
    g.node('Erf', ['e'], ['y'], {}, 'erf_2');
    g.output('y', 'float32', ['N', 4]);
    const s = graphStats(parseOnnx(encode(g)));
    expect(s.parameterCount).toBe(16);
    expect(s.opCounts).toEqual([['Erf', 2], ['Add', 1], ['MatMul', 1]]);
    expect(s.unsupported).toEqual([{ name: 'erf_1', opType: 'Erf', domain: '' }, { name: 'erf_2', opType: 'Erf', domain: '' }]);
  });
});

describe('weight layout', () => {
  /** Naive NCHW grouped conv with OIHW weights (stride 1, no padding), straight from the ONNX definition. */
  function convNchw(x: number[], c: number, h: number, w: number, wt: Float32Array, dims: number[], group: number): number[] {
    const [o, ig, kh, kw] = dims as [number, number, number, number];
    const out: number[] = [];
    const oh = h - kh + 1;
    const ow = w - kw + 1;
    for (let a = 0; a < o; a++) {
      const g0 = Math.floor(a / (o / group)) * ig;
      for (let y = 0; y < oh; y++) {
        for (let z = 0; z < ow; z++) {
          let s = 0;
          for (let i = 0; i < ig; i++) for (let p = 0; p < kh; p++) for (let q = 0; q < kw; q++) s += wt[((a * ig + i) * kh + p) * kw + q]! * x[((g0 + i) * h + y + p) * w + z + q]!;
          out[(a * oh + y) * ow + z] = s;
        }
      }
    }
    void c;
    return out;
  }

  /** The same conv in NHWC with Graft layouts: HWIO (grouped) or [kh,kw,C,M] depthwise. */
  function convNhwc(x: number[], c: number, h: number, w: number, layout: ReturnType<typeof convWeightLayout>): number[] {
    const [kh, kw, d2, d3] = layout.weight.dims as [number, number, number, number];
    const v = layout.weight.values;
    const oh = h - kh + 1;
    const ow = w - kw + 1;
    const cout = layout.kind === 'depthwise' ? d2 * d3 : d3;
    const out: number[] = [];
    const xAt = (ch: number, y: number, z: number): number => x[(ch * h + y) * w + z]!; // NOTE: x is given NCHW
    for (let y = 0; y < oh; y++) {
      for (let z = 0; z < ow; z++) {
        for (let a = 0; a < cout; a++) {
          let s = 0;
          for (let p = 0; p < kh; p++) {
            for (let q = 0; q < kw; q++) {
              if (layout.kind === 'depthwise') {
                const ch = Math.floor(a / d3);
                s += v[((p * kw + q) * d2 + ch) * d3 + (a % d3)]! * xAt(ch, y + p, z + q);
              } else {
                const g0 = Math.floor(a / (cout / layout.groups)) * d2;
                for (let i = 0; i < d2; i++) s += v[((p * kw + q) * d2 + i) * d3 + a]! * xAt(g0 + i, y + p, z + q);
              }
            }
          }
          out[(a * oh + y) * ow + z] = s; // NOTE: written NCHW so both results compare directly
        }
      }
    }
    void c;
    return out;
  }

  const rand = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 97.1 + i * 12.9898) * 0.5);

  it.each([
    { name: 'dense conv', c: 3, o: 4, group: 1, kind: 'conv' },
    { name: 'grouped conv', c: 4, o: 6, group: 2, kind: 'conv' },
    { name: 'depthwise', c: 3, o: 3, group: 3, kind: 'depthwise' },
    { name: 'depthwise x2', c: 3, o: 6, group: 3, kind: 'depthwise' },
  ])('$name: OIHW conv and the converted Graft-layout conv agree', ({ c, o, group, kind }) => {
    const h = 5;
    const w = 4;
    const dims = [o, c / group, 3, 2];
    const wt = rand(dims.reduce((p, d) => p * d, 1), o + group);
    const x = Array.from(rand(c * h * w, 3));
    const layout = convWeightLayout({ dims, values: wt }, group, c);
    expect(layout.kind).toBe(kind);
    const want = convNchw(x, c, h, w, wt, dims, group);
    const got = convNhwc(x, c, h, w, layout);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });

  it('Gemm transB weights become [in, out] dense kernels', () => {
    const b = rand(12, 1); // [N=3, K=4]
    const k = denseKernel({ dims: [3, 4], values: b }, true);
    expect(k.dims).toEqual([4, 3]);
    const x = [1, -2, 0.5, 3];
    for (let n = 0; n < 3; n++) {
      const gemm = x.reduce((s, xv, j) => s + xv * b[n * 4 + j]!, 0);
      const dense = x.reduce((s, xv, j) => s + xv * k.values[j * 3 + n]!, 0);
      expect(dense).toBeCloseTo(gemm, 6);
    }
    expect(denseKernel({ dims: [4, 3], values: b }, false).dims).toEqual([4, 3]);
  });
});
