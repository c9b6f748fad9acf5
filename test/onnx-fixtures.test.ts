// EfficientNet-B0-shaped fixtures: architecture, parameter counts, determinism, and that onnxruntime (the importer's
// oracle) runs both exporter styles with finite, non-degenerate outputs. Also `inspectOnnx` on fixtures and on the
// real MobileNetV2 from ../shared.

import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { NodeAttributes, foldConstants, formatOnnxReport, graphStats } from '../src/io/onnx/index.js';
import { inspectOnnx, readOnnxFile } from '../src/node/onnx-file.js';
import { fixtureIo, makeEfficientNetOnnx, type EfficientNetFixtureOptions } from '../tools/fixtures/efficientnet-fixture.js';
import { B0_STAGES, makeB0Params } from '../tools/fixtures/efficientnet-params.js';
import { boxMuller } from '../src/tensor/random.js';
import { sharedPath } from './helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'graft-onnx-fixtures-'));
const MOBILENET = sharedPath('weights', 'mobilenet_v2_1.0_224.onnx');

function write(name: string, options: EfficientNetFixtureOptions): string {
  const path = join(tmp, name);
  writeFileSync(path, makeEfficientNetOnnx(options));
  return path;
}

/** Inputs that are ~N(0,1) after each style's preprocessing (what the BN statistics are calibrated for). */
function standardInput(style: 'torchvision' | 'keras', batch: number, size: number, seed: number): ort.Tensor {
  let s = seed;
  const normal = (): number => {
    s = (s * 16807) % 2147483647;
    const u = s / 2147483647;
    s = (s * 16807) % 2147483647;
    return boxMuller(u, s / 2147483647)[0];
  };
  const n = batch * 3 * size * size;
  if (style === 'torchvision') return new ort.Tensor('float32', Float32Array.from({ length: n }, normal), [batch, 3, size, size]);
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const data = Float32Array.from({ length: n }, (_, i) => 255 * Math.min(1, Math.max(0, mean[i % 3]! + std[i % 3]! * normal())));
  return new ort.Tensor('float32', data, [batch, size, size, 3]);
}

async function runOrt(path: string, style: 'torchvision' | 'keras', size: number, batch = 2): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  const io = fixtureIo(style);
  const out = await session.run({ [io.input]: standardInput(style, batch, size, 12345) });
  return out[io.output]!.data as Float32Array;
}

function std(v: Float32Array): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
}

describe('EfficientNet-B0 fixtures', () => {
  it.each(['torchvision', 'keras'] as const)('%s: B0 architecture and the known B0 parameter counts', (style) => {
    const bnPath = write(`${style}-bn.onnx`, { style, size: 32 });
    const foldedPath = write(`${style}-folded.onnx`, { style, size: 32, foldedBn: true });
    const bn = readOnnxFile(bnPath);
    const folded = readOnnxFile(foldedPath);
    // NOTE: Keras reports 5,330,571 params for EfficientNetB0 (5,288,548 trainable + 42,016 BN moving statistics
    // + 7 in Normalization); torchvision's 5,288,548 excludes running statistics. Folding replaces each BN's four
    // vectors by one conv bias (21,008 BN channels).
    const extra = style === 'keras' ? 7 : 0;
    expect(graphStats(bn).parameterCount).toBe(5_288_548 + 42_016 + extra);
    expect(graphStats(folded).parameterCount).toBe(5_288_548 - 21_008 + extra);
    for (const m of [bn, folded]) {
      const stats = graphStats(m);
      expect(stats.unsupported).toEqual([]);
      const convs = m.graph.nodes.filter((n) => n.opType === 'Conv');
      expect(convs).toHaveLength(81);
      const depthwise = convs.filter((n) => new NodeAttributes(m.file, n).int('group', 1) > 1);
      const expected = B0_STAGES.flatMap((s) => Array.from({ length: s.repeats }, (_, i) => `${s.kernel}/${i === 0 ? s.stride : 1}`));
      expect(depthwise.map((n) => {
        const a = new NodeAttributes(m.file, n);
        return `${a.ints('kernel_shape')[0]}/${a.ints('strides')[0]}`;
      })).toEqual(expected);
      expect(stats.opCounts.find(([op]) => op === 'BatchNormalization')?.[1]).toBe(m === bn ? 49 : undefined);
    }
    const shapes = foldConstants(bn).shapes;
    expect(shapes.get(style === 'keras' ? 'top_activation_out' : 'features.8.2_out')).toEqual(['N', 1280, 1, 1]);
    expect(shapes.get(style === 'keras' ? 'block6a_dwconv_out' : 'features.6.0.block.1.0_out')).toEqual(['N', 672, 1, 1]);
    expect(shapes.get(style === 'keras' ? 'block2a_dwconv_out' : 'features.2.0.block.1.0_out')).toEqual(['N', 96, 8, 8]);
    const io = fixtureIo(style);
    expect(bn.graph.inputs).toEqual([{ name: io.input, dtype: 'float32', shape: style === 'keras' ? ['N', 32, 32, 3] : ['N', 3, 32, 32] }]);
    expect(bn.graph.outputs).toEqual([{ name: io.output, dtype: 'float32', shape: ['N', 1000] }]);
  });

  it('stores the generated weights (reader reads back exactly what the generator made)', () => {
    const m = readOnnxFile(write('tv-weights.onnx', { style: 'torchvision', size: 32, classes: 10, seed: 7 }));
    const p = makeB0Params(7, 10, 1e-5);
    expect(m.graph.initializers.get('features.0.0.weight')!.values).toEqual(p.stem.conv.weight);
    expect(m.graph.initializers.get('features.0.0.weight')!.dims).toEqual([32, 3, 3, 3]);
    expect(m.graph.initializers.get('features.2.0.block.1.0.weight')!.dims).toEqual([96, 1, 3, 3]);
    expect(m.graph.initializers.get('classifier.1.weight')!.values).toEqual(p.dense.weight);
  });

  it('is deterministic per seed', () => {
    const a = makeEfficientNetOnnx({ style: 'keras', size: 32, classes: 10, seed: 3 });
    const b = makeEfficientNetOnnx({ style: 'keras', size: 32, classes: 10, seed: 3 });
    const c = makeEfficientNetOnnx({ style: 'keras', size: 32, classes: 10, seed: 4 });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it.each(['torchvision', 'keras'] as const)('%s: onnxruntime runs it; folded and unfolded BN agree; outputs are sane', async (style) => {
    const size = 64;
    const plain = await runOrt(write(`${style}-ort.onnx`, { style, size, classes: 10, seed: 5 }), style, size);
    const folded = await runOrt(write(`${style}-ort-folded.onnx`, { style, size, classes: 10, seed: 5, foldedBn: true }), style, size);
    expect(plain).toHaveLength(20);
    expect(plain.every(Number.isFinite)).toBe(true);
    plain.forEach((v, i) => expect(Math.abs(v - folded[i]!)).toBeLessThan(1e-3 * Math.max(1, Math.abs(v))));
    const first = plain.subarray(0, 10);
    const second = plain.subarray(10);
    const differ = first.reduce((m, v, i) => Math.max(m, Math.abs(v - second[i]!)), 0);
    if (style === 'torchvision') {
      expect(std(plain)).toBeGreaterThan(0.05);
      expect(std(plain)).toBeLessThan(10);
      expect(differ).toBeGreaterThan(0.01);
    } else {
      for (const probs of [first, second]) {
        expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        expect(Math.max(...probs)).toBeLessThan(0.9);
      }
      expect(differ).toBeGreaterThan(1e-3);
    }
  });

  it('full-size 224x224 torchvision and keras files keep activations in range through all 16 blocks', async () => {
    for (const style of ['torchvision', 'keras'] as const) {
      const y = await runOrt(write(`${style}-224.onnx`, { style, seed: 2 }), style, 224);
      expect(y).toHaveLength(2000);
      expect(y.every(Number.isFinite)).toBe(true);
      if (style === 'torchvision') {
        expect(std(y)).toBeGreaterThan(0.1);
        expect(std(y)).toBeLessThan(10);
      } else {
        expect(Math.max(...y)).toBeLessThan(0.5);
        expect(Math.max(...y)).toBeGreaterThan(2 / 1000);
      }
    }
  });
});

describe('inspectOnnx', () => {
  it('reports interface, opset, producer, op counts, parameters and unsupported ops of both styles', () => {
    const tv = inspectOnnx(write('inspect-tv.onnx', { style: 'torchvision', size: 32, classes: 10 }));
    expect(tv.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['N', 3, 32, 32] }]);
    expect(tv.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['N', 10] }]);
    expect(tv.opset).toBe(17);
    expect(tv.producer).toBe('pytorch 2.1.0');
    expect(new Map(tv.opCounts).get('Conv')).toBe(81);
    expect(new Map(tv.opCounts).get('Gemm')).toBe(1);
    expect(tv.unsupported).toEqual([]);
    const k = inspectOnnx(write('inspect-k.onnx', { style: 'keras', size: 32, classes: 10, foldedBn: true }));
    expect(k.inputs[0]!.shape).toEqual(['N', 32, 32, 3]);
    expect(k.opset).toBe(13);
    expect(new Map(k.opCounts).get('Pad')).toBe(5);
    expect(new Map(k.opCounts).get('ReduceMean')).toBe(17);
    expect(new Map(k.opCounts).has('BatchNormalization')).toBe(false);
    const text = formatOnnxReport(k);
    expect(text).toMatch(/^inputs\s+input_1: float32 \[N,32,32,3\]$/m);
    expect(text).toMatch(/^outputs\s+predictions: float32 \[N,10\]$/m);
    expect(text).toMatch(/^unsupported\s+none$/m);
    expect(text).toMatch(/^producer\s+tf2onnx 1\.16\.1, IR 8, opset 13$/m);
  });

  it('reports the real MobileNetV2 from ../shared', (ctx) => {
    if (!existsSync(MOBILENET)) {
      console.log(`skipped: ${MOBILENET} is absent (no ../shared checkout)`);
      ctx.skip();
    }
    const r = inspectOnnx(MOBILENET);
    expect(r.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: [1, 3, 224, 224] }]);
    expect(r.outputs).toEqual([{ name: 'probs', dtype: 'float32', shape: [1, 1001] }]);
    expect(r.opset).toBe(13);
    expect(r.unsupported).toEqual([]);
    const ops = new Map(r.opCounts);
    expect(ops.get('Conv')).toBe(53);
    expect(ops.get('Softmax')).toBe(1);
    // NOTE: MobileNetV2 1.0 has about 3.5M parameters (3.47M with BN folded into the convs, 1001 classes).
    expect(r.parameterCount).toBeGreaterThan(3.4e6);
    expect(r.parameterCount).toBeLessThan(3.6e6);
    expect(formatOnnxReport(r)).toMatch(/^ops\s+Conv 53, Clip 35/m);
  });
});
