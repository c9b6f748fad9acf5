// ONNX fuzzing pieces: a small graph that uses most supported ops, and structure-aware mutations (decode the
// ModelProto, corrupt one field such as a dim, a data type, an attribute or a node input, encode again), which
// reach the checks behind the protobuf decoder that random bytes rarely get past.

import { GraphBuilder, encodeModel, float, int, ints } from '../../src/io/onnx/index.js';
import { DTYPE_CODES, onnx, type ProtoModel } from '../../src/io/onnx/proto.js';
import { HUGE_VALUES, type Pick } from './fuzz.js';

/** x [1,3,8,8] NCHW -> Conv -> BN -> Relu -> MaxPool -> Conv(depthwise) -> Clip -> GAP -> Reshape -> Gemm -> Softmax. */
export function smallOnnx(): Uint8Array {
  const g = new GraphBuilder('small');
  const vals = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
  g.input('x', 'float32', ['N', 3, 8, 8]);
  g.floatInit('w1', [4, 3, 3, 3], vals(108, 1.3));
  g.floatInit('b1', [4], vals(4, 0.7));
  for (const [n, k] of [['gamma', 1], ['beta', 2], ['mean', 3]] as const) g.floatInit(n, [4], vals(4, k));
  g.floatInit('var', [4], new Float32Array([1, 2, 0.5, 1.5]));
  g.floatInit('wd', [4, 1, 3, 3], vals(36, 0.9));
  g.int64Init('shape', [2], [-1, 4]);
  g.floatInit('wf', [3, 4], vals(12, 2.1));
  g.floatInit('bf', [3], vals(3, 0.4));
  g.node('Conv', ['x', 'w1', 'b1'], ['c1'], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]), strides: ints([1, 1]) }, 'conv1');
  g.node('BatchNormalization', ['c1', 'gamma', 'beta', 'mean', 'var'], ['bn1'], { epsilon: float(1e-5) }, 'bn1');
  g.node('Relu', ['bn1'], ['r1'], {}, 'relu1');
  g.node('MaxPool', ['r1'], ['p1'], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }, 'pool1');
  g.node('Conv', ['p1', 'wd'], ['c2'], { group: int(4), kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }, 'dw');
  g.node('Clip', ['c2'], ['k2'], { min: float(0), max: float(6) }, 'clip');
  g.node('GlobalAveragePool', ['k2'], ['gap'], {}, 'gap');
  g.node('Reshape', ['gap', 'shape'], ['flat'], {}, 'reshape');
  g.node('Gemm', ['flat', 'wf', 'bf'], ['logits'], { transB: int(1) }, 'fc');
  g.node('Softmax', ['logits'], ['probs'], { axis: int(1) }, 'softmax');
  g.output('probs', 'float32', ['N', 3]);
  return encodeModel(g, { opsets: [{ domain: '', version: 11 }] });
}

const bigOrNeg = (pick: Pick): number => {
  const v = [2 ** 53, 2 ** 32, 2 ** 31 - 1, 0xffffffff, -1, 0, 2 ** 40, -(2 ** 31)][pick(8)]!;
  return v;
};

/** One structure-aware mutation of a model's bytes (returns the original bytes' mutation, never in place). */
export function mutateOnnxStructure(bytes: Uint8Array, pick: Pick): Uint8Array {
  const m = onnx.ModelProto.decode(bytes) as ProtoModel;
  const g = m.graph!;
  const inits = g.initializer ?? [];
  const nodes = g.node ?? [];
  const what = pick(10);
  if (what === 0 && inits.length > 0) {
    const t = inits[pick(inits.length)]!;
    const dims = [...(t.dims ?? [])];
    if (dims.length === 0 || pick(4) === 0) dims.push(bigOrNeg(pick));
    else dims[pick(dims.length)] = bigOrNeg(pick);
    t.dims = dims;
  } else if (what === 1 && inits.length > 0) {
    inits[pick(inits.length)]!.dataType = pick(20);
  } else if (what === 2 && inits.length > 0) {
    const t = inits[pick(inits.length)]!;
    if (t.rawData && t.rawData.length > 0) t.rawData = t.rawData.subarray(0, pick(t.rawData.length));
    else t.int64Data = [];
  } else if (what === 3 && inits.length > 0) {
    const t = inits[pick(inits.length)]!;
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [{ key: 'location', value: ['../etc/passwd', '/etc/passwd', 'w.bin', 'a\0b'][pick(4)]! }, { key: 'length', value: String(bigOrNeg(pick)) }];
  } else if (what === 4 && nodes.length > 0) {
    const n = nodes[pick(nodes.length)]!;
    const ops = ['Conv', 'Gemm', 'Reshape', 'BatchNormalization', 'MaxPool', 'Concat', 'Transpose', 'Pad', 'Gather', 'Squeeze', 'Flatten', 'Softmax', 'Unsqueeze', 'Slice', 'Add', 'MatMul'];
    n.opType = ops[pick(ops.length)]!;
  } else if (what === 5 && nodes.length > 0) {
    const n = nodes[pick(nodes.length)]!;
    const inputs = [...(n.input ?? [])];
    const all = [...nodes.flatMap((x) => x.output ?? []), ...inits.map((t) => t.name ?? ''), 'x', '', 'nope'];
    if (inputs.length === 0 || pick(3) === 0) inputs.push(all[pick(all.length)]!);
    else if (pick(2) === 0) inputs.splice(pick(inputs.length), 1);
    else inputs[pick(inputs.length)] = all[pick(all.length)]!;
    n.input = inputs;
  } else if (what === 6 && nodes.length > 0) {
    const n = nodes[pick(nodes.length)]!;
    const attrs = n.attribute ?? [];
    if (attrs.length > 0) {
      const a = attrs[pick(attrs.length)]!;
      if (a.ints && a.ints.length > 0) {
        const v = [...a.ints] as number[];
        v[pick(v.length)] = bigOrNeg(pick);
        a.ints = pick(4) === 0 ? v.slice(0, pick(v.length)) : v;
      } else if (pick(2) === 0) a.i = bigOrNeg(pick);
      else a.type = pick(15);
    } else {
      n.attribute = [{ name: ['axis', 'group', 'kernel_shape', 'perm', 'pads'][pick(5)]!, type: onnx.AttributeProto.AttributeType.INT, i: bigOrNeg(pick) }];
    }
  } else if (what === 7) {
    const io = pick(2) === 0 ? g.input ?? [] : g.output ?? [];
    const v = io[pick(Math.max(1, io.length))];
    const dims = v?.type?.tensorType?.shape?.dim;
    if (dims && dims.length > 0) {
      const d = dims[pick(dims.length)]!;
      if (pick(3) === 0) { d.dimParam = ''; d.dimValue = null; } else { d.dimParam = ''; d.dimValue = bigOrNeg(pick); }
    } else if (v?.type?.tensorType) v.type.tensorType.elemType = pick(20);
  } else if (what === 8) {
    const o = (m.opsetImport ?? [])[0];
    if (o) o.version = [0, 1, 6, 7, 22, 2 ** 40, -1][pick(7)]!;
  } else if (nodes.length > 1) {
    // NOTE: a reordered or duplicated node (cycles, outputs defined twice).
    const a = pick(nodes.length);
    if (pick(2) === 0) nodes.push(nodes[a]!);
    else [nodes[0], nodes[a]] = [nodes[a]!, nodes[0]!];
  }
  return onnx.ModelProto.encode(m).finish();
}

/** Sanity: the default domain code table has float32 at 1 (the fixture relies on it). */
export const FLOAT_CODE = DTYPE_CODES.float32;
export { HUGE_VALUES };
