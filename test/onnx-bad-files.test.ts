// Untrusted and broken ONNX files: each gets an OnnxError that names the problem (and the node or initializer),
// with no crash, hang or huge allocation.

import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, OnnxError, encodeModel, int, ints } from '../src/io/onnx/index.js';
import { inspectOnnx, readOnnxFile } from '../src/node/onnx-file.js';
import { makeEfficientNetOnnx } from '../tools/fixtures/efficientnet-fixture.js';
import { DTYPE_CODES, onnx, type ProtoTensor } from '../src/io/onnx/proto.js';

const tmp = mkdtempSync(join(tmpdir(), 'graft-onnx-bad-'));
let counter = 0;

function save(bytes: Uint8Array, dir = tmp): string {
  const path = join(dir, `m${counter++}.onnx`);
  writeFileSync(path, bytes);
  return path;
}

/** Expects readOnnxFile(path) to throw an OnnxError whose message matches every pattern. */
function expectOnnxError(path: string, ...patterns: RegExp[]): OnnxError {
  let caught: unknown;
  try {
    readOnnxFile(path);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OnnxError);
  const err = caught as OnnxError;
  expect(err.message).toContain(path);
  for (const p of patterns) expect(err.message).toMatch(p);
  return err;
}

/** x [1,4,8,8] -> Conv(w) -> y, with the weight and attributes given. */
function convModel(wDims: number[], group: number, extra: (g: GraphBuilder) => void = () => {}): Uint8Array {
  const g = new GraphBuilder('g');
  g.input('x', 'float32', [1, 4, 8, 8]);
  g.floatInit('w', wDims, new Float32Array(wDims.reduce((p, d) => p * d, 1)));
  extra(g);
  g.node('Conv', ['x', 'w'], ['y'], { group: int(group), kernel_shape: ints(wDims.slice(2)) }, 'conv_1');
  g.output('y', 'float32', [1, wDims[0]!, 8 - wDims[2]! + 1, 8 - wDims[3]! + 1]);
  return encodeModel(g, { opsets: [{ domain: '', version: 13 }] });
}

/** A model whose initializer 'w' [2,3] is the given TensorProto fields. */
function withTensor(t: Omit<ProtoTensor, 'name'>, dir = tmp): string {
  const g = new GraphBuilder('g');
  g.input('x', 'float32', [2, 3]);
  g.tensorProto({ name: 'w', dataType: DTYPE_CODES.float32, dims: [2, 3], ...t });
  g.node('Add', ['x', 'w'], ['y'], {}, 'add');
  g.output('y', 'float32', [2, 3]);
  return save(encodeModel(g, { opsets: [{ domain: '', version: 13 }] }), dir);
}

const external = (location: string, offset = 0, length = 24): Omit<ProtoTensor, 'name'> => ({
  dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
  externalData: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(length) }],
});

describe('malformed files', () => {
  const fixture = makeEfficientNetOnnx({ style: 'torchvision', size: 32, classes: 10 });

  it('empty file', () => {
    expectOnnxError(save(new Uint8Array()), /is empty/);
  });

  it('truncated file (at several cut points)', () => {
    for (const fraction of [0.999, 0.5, 0.1, 0.001]) {
      expectOnnxError(save(fixture.subarray(0, Math.floor(fixture.length * fraction))), /not a valid ONNX protobuf|truncated|has no graph|claim/);
    }
  });

  it('random bytes (many seeds) never escape as anything but an OnnxError', () => {
    let s = 99;
    for (let trial = 0; trial < 50; trial++) {
      const bytes = Uint8Array.from({ length: 64 + trial * 37 }, () => {
        s = (s * 16807) % 2147483647;
        return s & 0xff;
      });
      expectOnnxError(save(bytes));
    }
  });

  it('a missing file and a folder', () => {
    expect(() => readOnnxFile(join(tmp, 'nope.onnx'))).toThrow(/nope\.onnx: cannot be read/);
    expect(() => readOnnxFile(tmp)).toThrow(/is not a regular file/);
  });
});

describe('inconsistent graphs', () => {
  it('unsupported ops are listed by inspect with node names (the importer rejects them later)', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [1, 4]);
    g.node('Erf', ['x'], ['e'], {}, 'gelu_erf');
    g.node('Relu', ['e'], ['r'], {}, 'relu');
    g.node('FusedThing', ['r'], ['y'], {}, 'custom_1');
    g.output('y', 'float32', [1, 4]);
    const bytes = encodeModel(g, { opsets: [{ domain: '', version: 13 }] });
    const m = onnx.ModelProto.decode(bytes);
    m.graph!.node![2]!.domain = 'com.example';
    m.opsetImport.push({ domain: 'com.example', version: 1 });
    const r = inspectOnnx(save(onnx.ModelProto.encode(m).finish()));
    expect(r.unsupported).toEqual([
      { name: 'gelu_erf', opType: 'Erf', domain: '' },
      { name: 'custom_1', opType: 'FusedThing', domain: 'com.example' },
    ]);
  });

  it('missing initializer: the error names the node and the missing input', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [1, 3, 8, 8]);
    g.node('Conv', ['x', 'conv1.weight'], ['y'], { kernel_shape: ints([3, 3]) }, 'conv1');
    g.output('y', 'float32', [1, 8, 6, 6]);
    const err = expectOnnxError(save(encodeModel(g, { opsets: [{ domain: '', version: 13 }] })),
      /node 'conv1' \(Conv\): input 'conv1\.weight' is neither a graph input, an initializer nor the output of a node/);
    expect(err.node).toEqual({ name: 'conv1', opType: 'Conv' });
  });

  it('cyclic graph: the error names a node on the cycle', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', [2]);
    g.node('Add', ['x', 'c'], ['a'], {}, 'add_a');
    g.node('Relu', ['a'], ['b'], {}, 'relu_b');
    g.node('Sigmoid', ['b'], ['c'], {}, 'sigmoid_c');
    g.node('Identity', ['b'], ['y'], {}, 'out');
    g.output('y', 'float32', [2]);
    const err = expectOnnxError(save(encodeModel(g, { opsets: [{ domain: '', version: 13 }] })), /is on a cycle/);
    expect(['add_a', 'relu_b', 'sigmoid_c']).toContain(err.node?.name);
  });

  it('Conv whose group does not divide its output channels or input channels', () => {
    expectOnnxError(save(convModel([6, 1, 3, 3], 4)), /node 'conv_1' \(Conv\): group 4 does not divide the 6 output channels/);
    expectOnnxError(save(convModel([6, 2, 3, 3], 3)), /group 3 does not divide the 4 channels of input \[1,4,8,8\]/);
    expectOnnxError(save(convModel([8, 1, 3, 3], 2)), /input \[1,4,8,8\] has 4 channels, weight \[8,1,3,3\] with group 2 expects 2/);
    expect(() => readOnnxFile(save(convModel([8, 1, 3, 3], 4)))).not.toThrow();
  });

  it('Conv bias of the wrong length', () => {
    const bytes = convModel([8, 4, 3, 3], 1, (g) => g.floatInit('b', [5], new Float32Array(5)));
    const m = onnx.ModelProto.decode(bytes);
    m.graph!.node![0]!.input!.push('b');
    expectOnnxError(save(onnx.ModelProto.encode(m).finish()), /node 'conv_1' \(Conv\): bias \[5\] should be \[8\]/);
  });
});

describe('tensor sizes', () => {
  it('dims that claim more elements than raw_data holds', () => {
    const err = expectOnnxError(withTensor({ dims: [1000, 1000], rawData: new Uint8Array(16) }),
      /tensor 'w': dims \[1000,1000\] claim 1000000 elements \(4000000 bytes of float32\) but raw_data holds 16 bytes/);
    expect(err.tensor).toBe('w');
  });

  it('astronomically large dims are rejected before any allocation', () => {
    expectOnnxError(withTensor({ dims: [2 ** 40, 2 ** 40], rawData: new Uint8Array(8) }), /tensor 'w': dims \[\d+,\d+\] claim an impossible number/);
    expectOnnxError(withTensor({ dims: [2 ** 20, 2 ** 20], floatData: [1, 2] }), /tensor 'w': .* but float_data holds 2 values/);
  });

  it('negative dims and unknown data types', () => {
    expectOnnxError(withTensor({ dims: [-1, 3], floatData: [1, 2, 3] }), /tensor 'w': has an invalid dimension -1/);
    expectOnnxError(withTensor({ dataType: 99, floatData: [1] }), /tensor 'w': has undefined or unknown data type code 99/);
  });
});

describe('external data', () => {
  const dir = join(tmp, 'model-dir');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(tmp, 'outside.bin'), new Uint8Array(64));
  writeFileSync(join(dir, 'sub', 'w.bin'), new Uint8Array(32));
  symlinkSync(join(tmp, 'outside.bin'), join(dir, 'link.bin'));

  it('a location outside the model folder: "..", absolute, or a symlink leading out', () => {
    expectOnnxError(withTensor(external('../outside.bin'), dir), /tensor 'w': external data location '\.\.\/outside\.bin' leads outside the model's folder/);
    expectOnnxError(withTensor(external('sub/../../outside.bin'), dir), /leads outside the model's folder/);
    expectOnnxError(withTensor(external(join(tmp, 'outside.bin')), dir), /is absolute/);
    expectOnnxError(withTensor(external('link.bin'), dir), /tensor 'w': external data location 'link\.bin' leads outside the model's folder \(through a link\)/);
  });

  it('missing external file, and ranges outside the file', () => {
    expectOnnxError(withTensor(external('sub/missing.bin'), dir), /tensor 'w': external data file 'sub\/missing\.bin' does not exist/);
    expectOnnxError(withTensor(external('sub/w.bin', 16), dir), /external data range \[16, 40\) lies outside 'sub\/w\.bin' \(32 bytes\)/);
    expectOnnxError(withTensor(external('sub/w.bin', 0, 12), dir), /claim 6 elements \(24 bytes of float32\) but its external data length is 12 bytes/);
    expect(() => readOnnxFile(withTensor(external('sub/w.bin', 8), dir))).not.toThrow();
  });
});
