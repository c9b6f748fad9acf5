// Export round trips through onnxruntime-node: imported fixtures and a model built from Graft layers (with
// non-trivial weights and BN statistics, as after training) are exported in NHWC and NCHW layouts; onnxruntime's
// outputs must match Graft's own predictions, and the exported file imports back into Graft.

import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { noGrad, tensor, tidy, type Tensor } from '../src/index.js';
import { Layer, input, layers, setSeed, type Functional } from '../src/nn/index.js';
import { model as functionalModel, type Model } from '../src/train/model.js';
import { makeEfficientNetOnnx } from '../tools/fixtures/efficientnet-fixture.js';
import { importOnnx } from '../src/api/import-onnx.js';
import { exportOnnxBytes } from '../src/io/onnx/export.js';
import { transposeValues } from '../src/io/onnx/import/perm.js';
import { useDevice } from './helpers/gpu.js';

useDevice();
ort.env.logLevel = 'error';

let seed = 7;
function random(n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => {
    seed = (seed * 16807) % 2147483647;
    return lo + (hi - lo) * (seed / 2147483647);
  });
}

const models: Model[] = [];
afterAll(() => models.forEach((m) => m.dispose()));

/** Graft's own output for an NHWC input. */
async function graftPredict(m: Functional, x: Float32Array, shape: number[]): Promise<{ data: Float32Array; shape: number[] }> {
  const y = noGrad(() => tidy(() => m.apply(tensor(x, shape)) as Tensor));
  const data = (await y.data()) as Float32Array;
  const out = { data, shape: [...y.shape] };
  y.dispose();
  return out;
}

/** Exports in both layouts, runs onnxruntime, compares with Graft; returns the NHWC bytes. */
async function roundTrip(m: Functional, shape: number[], lo = -1, hi = 1): Promise<Uint8Array> {
  const x = random(shape.reduce((p, d) => p * d, 1), lo, hi);
  const want = await graftPredict(m, x, shape);
  let scale = 0;
  for (const v of want.data) scale = Math.max(scale, Math.abs(v));
  const nhwcBytes = await exportOnnxBytes(m, { layout: 'NHWC' });
  for (const layout of ['NHWC', 'NCHW'] as const) {
    const bytes = layout === 'NHWC' ? nhwcBytes : await exportOnnxBytes(m, { layout });
    const session = await ort.InferenceSession.create(bytes);
    const nchw = layout === 'NCHW' && shape.length === 4;
    const feed = nchw ? new ort.Tensor('float32', transposeValues(x, shape, [0, 3, 1, 2]), [0, 3, 1, 2].map((p) => shape[p]!)) : new ort.Tensor('float32', x, shape);
    const out = (await session.run({ [session.inputNames[0]!]: feed }))[session.outputNames[0]!]!;
    const back = layout === 'NCHW' && out.dims.length === 4 ? transposeValues(out.data as Float32Array, [...out.dims], [0, 2, 3, 1]) : (out.data as Float32Array);
    expect(back.length).toBe(want.data.length);
    let diff = 0;
    for (let i = 0; i < back.length; i++) diff = Math.max(diff, Math.abs(back[i]! - want.data[i]!));
    console.log(`${m.name} ${layout}: max |diff| ${diff.toExponential(2)} at output scale ${scale.toFixed(3)}`);
    expect(diff).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-3));
  }
  return nhwcBytes;
}

describe('exportOnnx', () => {
  it.each([
    ['torchvision', false],
    ['torchvision', true],
    ['keras', false],
  ] as const)('imported %s fixture (folded BN: %s): NHWC and NCHW exports match Graft in onnxruntime', async (style, foldedBn) => {
    const m = importOnnx(makeEfficientNetOnnx({ style, foldedBn, size: 32, classes: 10, seed: 21 }));
    models.push(m);
    const bytes = await roundTrip(m, [2, 32, 32, 3], style === 'keras' ? 0 : -2, style === 'keras' ? 255 : 2);
    const again = importOnnx(bytes);
    models.push(again);
    expect(again.countParams()).toBe(m.countParams());
  });

  it('a model built from Graft layers, with random ("trained") weights and BN statistics', async () => {
    setSeed(5);
    const x = input({ shape: [12, 12, 3], name: 'image' });
    let h = layers.rescaling({ scale: 1 / 127.5, offset: -1 }).apply(x);
    h = layers.normalization({ mean: [0.1, -0.2, 0.05], variance: [1.5, 0.8, 1.1] }).apply(h);
    h = layers.zeroPadding2d({ padding: [[0, 1], [1, 0]] }).apply(h);
    h = layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' }).apply(h);
    h = layers.batchNormalization().apply(h);
    const skip = h;
    h = layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 1, activation: 'swish' }).apply(h);
    h = layers.conv2d({ filters: 8, kernelSize: 1, padding: 'valid' }).apply(h);
    h = layers.add().apply([h, skip]);
    const gate = layers.dense({ units: 8, activation: 'sigmoid' }).apply(layers.globalAveragePooling2d({ keepDims: true }).apply(h));
    h = layers.multiply().apply([h, gate]);
    h = layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }).apply(h);
    h = layers.averagePooling2d({ poolSize: 2 }).apply(h);
    h = layers.dropout({ rate: 0.3 }).apply(layers.flatten().apply(h));
    h = layers.reshape({ targetShape: [2, -1] }).apply(h);
    h = layers.flatten().apply(h);
    h = layers.dense({ units: 16, activation: 'tanh' }).apply(h);
    const y = layers.dense({ units: 5, activation: 'softmax' }).apply(h);
    const m = functionalModel({ inputs: x, outputs: y, name: 'built' });
    models.push(m);
    for (const w of m.weights) {
      const n = w.value.size;
      w.write(w.name.includes('variance') ? random(n, 0.5, 2) : random(n, -0.5, 0.5));
    }
    await roundTrip(m, [3, 12, 12, 3], 0, 255);
  });

  it('names the layer that has no ONNX form', async () => {
    class Mystery extends Layer {
      static override readonly className = 'Mystery';
      call(t: Tensor | Tensor[]): Tensor {
        return Array.isArray(t) ? t[0]! : t;
      }
    }
    const x = input({ shape: [4, 4, 3] });
    const m = functionalModel({ inputs: x, outputs: new Mystery({ name: 'odd_one' }).apply(layers.randomContrast({ factor: 0.2 }).apply(x)) });
    models.push(m);
    await expect(exportOnnxBytes(m)).rejects.toThrow(/layer 'odd_one' of class Mystery has no ONNX export/);
  });
});
