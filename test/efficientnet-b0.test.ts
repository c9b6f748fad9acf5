// graft.applications.efficientNetB0: Keras' layer list and parameter counts with fresh weights, Keras'
// initializer statistics, and ONNX files of both exporter styles (BN kept and folded) giving onnxruntime's outputs.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { noGrad, tensor } from '../src/index.js';
import { OnnxError } from '../src/io/onnx/index.js';
import { fixtureIo, makeEfficientNetOnnx, type EfficientNetFixtureOptions } from '../tools/fixtures/efficientnet-fixture.js';
import { BatchNormalization, Normalization, ZeroPadding2D, setSeed } from '../src/nn/index.js';
import type { Model } from '../src/train/index.js';
import { efficientNetB0 } from '../src/applications/index.js';
import { useDevice } from './helpers/gpu.js';
import { boxMuller } from '../src/tensor/random.js';

useDevice();
const tmp = mkdtempSync(join(tmpdir(), 'graft-b0-'));

// Keras: [l.name for l in tf.keras.applications.EfficientNetB0(include_top=False, weights=None).layers]
const KERAS_FIRST_20 = [
  'input_1', 'rescaling', 'normalization', 'stem_conv_pad', 'stem_conv', 'stem_bn', 'stem_activation',
  'block1a_dwconv', 'block1a_bn', 'block1a_activation', 'block1a_se_squeeze', 'block1a_se_reshape',
  'block1a_se_reduce', 'block1a_se_expand', 'block1a_se_excite', 'block1a_project_conv', 'block1a_project_bn',
  'block2a_expand_conv', 'block2a_expand_bn', 'block2a_expand_activation',
];
const KERAS_LAST_12 = [
  'block7a_bn', 'block7a_activation', 'block7a_se_squeeze', 'block7a_se_reshape', 'block7a_se_reduce',
  'block7a_se_expand', 'block7a_se_excite', 'block7a_project_conv', 'block7a_project_bn', 'top_conv', 'top_bn',
  'top_activation',
];
const KERAS_LAYER_COUNT = 237;
// Keras summary of EfficientNetB0(include_top=False): 4,049,571 total, 4,007,548 trainable; with top 5,330,571.
// Keras' Normalization stores mean (3), variance (3) and a `count` scalar: 7 of the non-trainable parameters.
const KERAS_TOTAL_NO_TOP = 4_049_571;
const KERAS_TOTAL_TOP = 5_330_571;
const KERAS_TRAINABLE_NO_TOP = 4_007_548;
const KERAS_NORMALIZATION_PARAMS = 7;

const trainableCount = (m: Model) => m.trainableWeights.reduce((n, w) => n + w.value.size, 0);
const normalizationParams = (m: Model) => m.getLayer('normalization').countParams();

describe('efficientNetB0 with fresh weights', () => {
  it("has Keras' layer names, order and parameter counts", () => {
    setSeed(1);
    const base = efficientNetB0({ weights: null, includeTop: false });
    const names = base.layers.map((l) => l.name);
    expect(names).toHaveLength(KERAS_LAYER_COUNT);
    expect(names.slice(0, 20)).toEqual(KERAS_FIRST_20);
    expect(names.slice(-12)).toEqual(KERAS_LAST_12);
    expect(base.layers.slice(-10).map((l) => l.name)).toEqual(KERAS_LAST_12.slice(-10));
    expect(names.filter((n) => n.endsWith('_drop'))).toEqual(
      ['block2b', 'block3b', 'block4b', 'block4c', 'block5b', 'block5c', 'block6b', 'block6c', 'block6d'].map((b) => `${b}_drop`));
    expect(base.outputs[0]!.shape).toEqual([null, 7, 7, 1280]);
    expect(trainableCount(base)).toBe(KERAS_TRAINABLE_NO_TOP);
    expect(normalizationParams(base)).toBe(KERAS_NORMALIZATION_PARAMS);
    expect(base.countParams()).toBe(KERAS_TOTAL_NO_TOP);

    const full = efficientNetB0({ weights: null });
    expect(full.layers.slice(-4).map((l) => l.name)).toEqual(['top_activation', 'avg_pool', 'top_dropout', 'predictions']);
    expect(full.outputs[0]!.shape).toEqual([null, 1000]);
    expect(full.countParams()).toBe(KERAS_TOTAL_TOP);
    base.dispose();
    full.dispose();
  });

  it("pads strided convs as Keras' correct_pad and draws kernels from Keras' VarianceScaling", async () => {
    setSeed(2);
    const m = efficientNetB0({ weights: null, inputShape: [65, 64, 3], classes: 7 });
    expect((m.getLayer('stem_conv_pad') as ZeroPadding2D).padding).toEqual([[1, 1], [0, 1]]);
    expect((m.getLayer('block3a_dwconv_pad') as ZeroPadding2D).padding).toEqual([[2, 2], [1, 2]]);
    const stats = (v: Float32Array) => {
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length), max: v.reduce((a, b) => Math.max(a, Math.abs(b)), 0) };
    };
    // conv: truncated normal, std sqrt(2 / fan_out) with fan_out = kh * kw * out (1 for depthwise out per channel).
    const top = stats(await m.getLayer('top_conv').weights[0]!.read());
    expect(top.std).toBeCloseTo(Math.sqrt(2 / 1280), 3);
    expect(top.max).toBeLessThanOrEqual((2 * Math.sqrt(2 / 1280)) / 0.87962566103423978 + 1e-6);
    const dw = stats(await m.getLayer('block6a_dwconv').weights[0]!.read());
    expect(dw.std).toBeCloseTo(Math.sqrt(2 / 25), 1);
    // dense: uniform with limit sqrt(3 * (1/3) / fan_out) = sqrt(1 / classes).
    const dense = stats(await m.getLayer('predictions').weights[0]!.read());
    expect(dense.max).toBeLessThanOrEqual(Math.sqrt(1 / 7));
    expect(dense.std).toBeCloseTo(Math.sqrt(1 / 7) / Math.sqrt(3), 2);
    m.dispose();
  });
});

/** Pixels in 0..255 whose ImageNet-normalized values are ~N(0,1) (what the fixtures' BN statistics expect). */
function pixels(batch: number, size: number, seed: number): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  let s = seed;
  const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  return Float32Array.from({ length: batch * size * size * 3 }, (_, i) => {
    const z = boxMuller(u(), u())[0];
    return Math.round(255 * Math.min(1, Math.max(0, mean[i % 3]! + std[i % 3]! * z)));
  });
}

/** What torchvision's exported graph expects: (x/255 - mean) / std, NCHW. */
function torchvisionInput(x: Float32Array, batch: number, size: number): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const out = new Float32Array(x.length);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < size * size; p++) out[(n * 3 + c) * size * size + p] = (x[(n * size * size + p) * 3 + c]! / 255 - mean[c]!) / std[c]!;
    }
  }
  return out;
}

const SIZE = 64;
const CLASSES = 10;
const CASES: [string, EfficientNetFixtureOptions][] = [
  ['torchvision, BN kept', { style: 'torchvision', size: SIZE, classes: CLASSES, seed: 3 }],
  ['torchvision, BN folded', { style: 'torchvision', size: SIZE, classes: CLASSES, seed: 4, foldedBn: true }],
  ['keras/tf2onnx, BN kept', { style: 'keras', size: SIZE, classes: CLASSES, seed: 5 }],
  ['keras/tf2onnx, BN folded', { style: 'keras', size: SIZE, classes: CLASSES, seed: 6, foldedBn: true }],
];

describe('efficientNetB0 from ONNX', () => {
  it.each(CASES)('%s: the same outputs as onnxruntime at batch 1 and 3', async (label, options) => {
    const path = join(tmp, `${label.replace(/\W+/g, '-')}.onnx`);
    writeFileSync(path, makeEfficientNetOnnx(options));
    const model = efficientNetB0({ weights: path });
    expect(model.layers.map((l) => l.name).slice(0, 20)).toEqual(KERAS_FIRST_20);
    expect(model.outputs[0]!.shape).toEqual([null, CLASSES]);
    const stemPad = (model.getLayer('stem_conv_pad') as ZeroPadding2D).padding;
    // NOTE: torchvision pads stride-2 convs symmetrically; Keras' TF 'same' pads only at the end on even sizes.
    expect(stemPad).toEqual(options.style === 'torchvision' ? [[1, 1], [1, 1]] : [[0, 1], [0, 1]]);
    const bn = model.getLayer('block4b_project_bn') as BatchNormalization;
    expect(bn.epsilon).toBeCloseTo(options.foldedBn || options.style === 'keras' ? 1e-3 : 1e-5, 9);
    const session = await ort.InferenceSession.create(path);
    const io = fixtureIo(options.style);
    for (const batch of [1, 3]) {
      const x = pixels(batch, SIZE, 17 + batch);
      const feed = options.style === 'torchvision'
        ? new ort.Tensor('float32', torchvisionInput(x, batch, SIZE), [batch, 3, SIZE, SIZE])
        : new ort.Tensor('float32', x, [batch, SIZE, SIZE, 3]);
      const expected = (await session.run({ [io.input]: feed }))[io.output]!.data as Float32Array;
      const input = tensor(x, [batch, SIZE, SIZE, 3]);
      const out = noGrad(() => model.apply(input));
      const got = (await out.data()) as Float32Array;
      input.dispose();
      out.dispose();
      expect(got.length).toBe(expected.length);
      const scale = Math.max(...expected.map(Math.abs));
      const worst = Math.max(...got.map((v, i) => Math.abs(v - expected[i]!)));
      expect(scale).toBeGreaterThan(0);
      expect(worst, `${label} batch ${batch}: max |graft - ort| ${worst} at output scale ${scale}`).toBeLessThanOrEqual(1e-4 * scale);
    }
    await session.release();
    model.dispose();
  });

  it('takes the preprocessing from a Keras file and rejects files that are not B0 or classes that differ', () => {
    const path = join(tmp, 'keras-check.onnx');
    writeFileSync(path, makeEfficientNetOnnx({ style: 'keras', size: 32, classes: 5 }));
    const base = efficientNetB0({ weights: path, includeTop: false });
    const norm = base.getLayer('normalization') as Normalization;
    expect(norm.initMean as number[]).toEqual([0.485, 0.456, 0.406].map((v) => expect.closeTo(v, 6)));
    expect(norm.initVariance as number[]).toEqual([0.229, 0.224, 0.225].map((v) => expect.closeTo(v * v, 6)));
    expect(base.layers.at(-1)!.name).toBe('top_activation');
    base.dispose();
    expect(() => efficientNetB0({ weights: path, classes: 1000 })).toThrow(/classifies 5 classes, not 1000/);
    expect(() => efficientNetB0({ weights: join(tmp, 'missing.onnx') })).toThrow(OnnxError);
  });
});
