// Fuzzing the ONNX reader and importer: seeded bit flips, byte overwrites, truncations, splices, huge size fields
// and structure-aware corruptions (dims, data types, node inputs, attributes, opsets) of a small graph and of the
// EfficientNet-B0 fixture. Every case must load or end in an OnnxError; never a TypeError/RangeError, raw protobuf
// error, printed output, or a result much larger than the file.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GraphBuilder, OnnxError, checkModel, encodeModel, int, ints, parseOnnx, type OnnxModel } from '../src/io/onnx/index.js';
import { importOnnx } from '../src/api/import-onnx.js';
import { makeEfficientNetOnnx } from '../tools/fixtures/efficientnet-fixture.js';
import { byteCases, picker, runFuzz, summarize, typedBytes, type FuzzCase, type FuzzTarget } from './helpers/fuzz.js';
import { mutateOnnxStructure, smallOnnx } from './helpers/onnx-fuzz.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const FILE = 'fuzz.onnx';
const spies = [vi.spyOn(console, 'log'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')];
const quiet = () => spies.reduce((n, s) => n + s.mock.calls.length, 0);
const log: string[] = [];
beforeAll(() => spies.forEach((s) => s.mockClear()));
afterAll(() => {
  spies.forEach((s) => s.mockRestore());
  console.log(log.join('\n'));
});

function parseAndCheck(bytes: Uint8Array): OnnxModel {
  const m = parseOnnx(bytes, { file: FILE });
  checkModel(m);
  return m;
}

/** OnnxErrors only; the parse step must name the file, the import step (bytes) says '<bytes>'. */
const target = (importToo: boolean): FuzzTarget<OnnxModel> => ({
  parse: parseAndCheck,
  isOwnError: (e) => e instanceof OnnxError && /fuzz\.onnx|<bytes>/.test(e.message) && e.message.length < 400,
  // NOTE: typed int64_data varints (1 byte each) widen to float64: 8 bytes per file byte at most.
  retainedBytes: (m) => typedBytes(m.graph.initializers) + typedBytes(m.graph.nodes.map((n) => [...n.attributes.values()])),
  factor: 8,
  after: importToo ? (_m, bytes) => importOnnx(bytes).dispose() : undefined,
});

function* onnxCases(seed: number, bytes: Uint8Array, byteLevel: number, structured: number): Generator<FuzzCase> {
  yield* byteCases(seed, byteLevel, [bytes, smallOnnx()]);
  const pick = picker(seed + 1);
  for (let i = 0; i < structured; i++) yield { kind: 'structured', bytes: mutateOnnxStructure(bytes, pick) };
}

describe('ONNX fuzzing', () => {
  it('a small graph: 1,000 byte-level and 1,000 structured cases, each parsed, checked and (when valid) imported', () => {
    const r = runFuzz(onnxCases(101, smallOnnx(), 1000, 1000), target(true));
    log.push(summarize('ONNX small graph', r));
    expect(r.defects).toEqual([]);
    expect(r.cases).toBe(2000);
    // NOTE: both outcomes must occur, or the mutations are not reaching the checks behind the decoder.
    expect(r.loaded).toBeGreaterThan(100);
    expect(r.rejected).toBeGreaterThan(1000);
    expect(quiet()).toBe(0);
  });

  // NOTE: 300 cases, not 1,000: each copies and parses a 16 MB file (17 ms idle, ten times that on a busy 2-core CI
  // machine); the small graph above carries the 1,000s of cases.
  it('the EfficientNet-B0 fixture (32x32): 150 byte-level and 150 structured cases, parsed and checked', () => {
    const b0 = makeEfficientNetOnnx({ style: 'torchvision', size: 32, classes: 10 });
    const r = runFuzz(onnxCases(202, b0, 150, 150), target(false));
    log.push(summarize('ONNX EfficientNet-B0 fixture', r));
    expect(r.defects).toEqual([]);
    expect(r.loaded).toBeGreaterThan(10);
    expect(r.rejected).toBeGreaterThan(100);
    expect(quiet()).toBe(0);
  });
});

describe('ONNX fuzz findings (regressions)', () => {
  const model = (build: (g: GraphBuilder) => void): Uint8Array => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', ['N', 4]);
    build(g);
    return encodeModel(g, { opsets: [{ domain: '', version: 13 }] });
  };
  const expectImportError = (bytes: Uint8Array, pattern: RegExp) => {
    expect(() => importOnnx(bytes)).toThrow(OnnxError);
    expect(() => importOnnx(bytes)).toThrow(pattern);
  };

  it('Gemm without its B input: an OnnxError naming the node, not a TypeError', () => {
    expectImportError(model((g) => {
      g.node('Gemm', ['x'], ['y'], {}, 'fc');
      g.output('y', 'float32', ['N', 4]);
    }), /node 'fc' \(Gemm\): B \(input 1\) is missing/);
  });

  it('Conv without its weight input: an OnnxError naming the node, not a TypeError', () => {
    const g = new GraphBuilder('g');
    g.input('x', 'float32', ['N', 2, 4, 4]);
    g.node('Conv', ['x'], ['y'], { kernel_shape: ints([1, 1]) }, 'conv');
    g.output('y', 'float32', ['N', 2, 4, 4]);
    expectImportError(encodeModel(g, { opsets: [{ domain: '', version: 13 }] }), /node 'conv' \(Conv\): weight \(input 1\) is missing/);
  });

  it('a float tensor wired in as Reshape\'s shape: an OnnxError at check time, not fractional dims', () => {
    const bytes = model((g) => {
      g.floatInit('s', [2], new Float32Array([0.5, 8]));
      g.node('Reshape', ['x', 's'], ['y'], { allowzero: int(0) }, 'reshape');
      g.output('y', 'float32', ['N', 4]);
    });
    expect(() => parseAndCheck(bytes)).toThrow(/node 'reshape' \(Reshape\): shape \(input 1, 's'\) must be an integer tensor \(int64\), got float32/);
  });
});
