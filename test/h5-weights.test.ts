// Keras 2 HDF5 weights: EfficientNet-B0 from a Keras-layout .h5 equals B0 from the keras-style ONNX fixture with the
// same seeded weights; model.loadWeights reads .h5 by layer name with Keras' byName/skipMismatch; mismatches and
// bad files give errors naming the layer, the shapes and the file.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { input, layers, noGrad, tensor } from '../src/index.js';
import { efficientNetB0 } from '../src/applications/index.js';
import { Normalization } from '../src/nn/index.js';
import { model as makeModel, type Model } from '../src/train/model.js';
import { Hdf5Error } from '../src/io/h5/index.js';
import { makeEfficientNetOnnx } from '../tools/fixtures/efficientnet-fixture.js';
import { b0KerasLayers, encodeKerasH5, type KerasLayer } from '../tools/fixtures/keras-h5.js';
import { useDevice } from './helpers/gpu.js';

useDevice();
const tmp = mkdtempSync(join(tmpdir(), 'graft-h5-'));
const SIZE = 32;
const CLASSES = 10;
const SEED = 5;
// NOTE: the seeded B0 weights take seconds to make on this machine: made once, the notop file drops the head.
const LAYERS = b0KerasLayers({ seed: SEED, classes: CLASSES });
const NOTOP = LAYERS.filter((l) => !['avg_pool', 'top_dropout', 'predictions'].includes(l.name));

/** Pixels in 0..255 whose ImageNet-normalized values are ~N(0,1) (what the fixtures' BN statistics expect). */
function pixels(batch: number, seed: number): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  let s = seed;
  const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  return Float32Array.from({ length: batch * SIZE * SIZE * 3 }, (_, i) => {
    const z = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    return Math.round(255 * Math.min(1, Math.max(0, mean[i % 3]! + std[i % 3]! * z)));
  });
}

async function run(m: Model, x: Float32Array, batch: number): Promise<Float32Array> {
  const t = tensor(x, [batch, SIZE, SIZE, 3]);
  const y = noGrad(() => m.apply(t));
  const out = (await y.data()) as Float32Array;
  t.dispose();
  y.dispose();
  return out;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('EfficientNet-B0 from Keras .h5', () => {
  it('gives the logits of the same weights loaded from the keras-style ONNX fixture (within 1e-5)', async () => {
    const onnxPath = join(tmp, 'b0-keras.onnx');
    writeFileSync(onnxPath, makeEfficientNetOnnx({ style: 'keras', size: SIZE, classes: CLASSES, seed: SEED }));
    const h5Path = join(tmp, 'b0-keras.h5') as `${string}.h5`;
    writeFileSync(h5Path, await encodeKerasH5(LAYERS));
    const fromOnnx = efficientNetB0({ weights: onnxPath, classifierActivation: 'linear' });
    const fromH5 = await efficientNetB0({ weights: h5Path, inputShape: [SIZE, SIZE, 3], classifierActivation: 'linear' });
    expect(fromH5.layers.map((l) => l.name)).toEqual(fromOnnx.layers.map((l) => l.name));
    // NOTE: Keras' ImageNet file stores std as variance (Keras adds Rescaling(1/sqrt(std))); Graft folds it: variance = std^2.
    const norm = fromH5.getLayer('normalization') as Normalization;
    expect([...(await norm.variance!.read())]).toEqual([0.229, 0.224, 0.225].map((s) => expect.closeTo(s * s, 7)));
    const x = pixels(2, 7);
    const a = await run(fromOnnx, x, 2);
    const b = await run(fromH5, x, 2);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0.1);
    expect(maxDiff(a, b), 'max |h5 - onnx| logit').toBeLessThanOrEqual(1e-5);

    // The notop file from bytes gives the features of the with-top model's last conv block.
    const notop = await encodeKerasH5(NOTOP);
    const base = await efficientNetB0({ weights: notop, includeTop: false, inputShape: [SIZE, SIZE, 3] });
    expect(base.layers.at(-1)!.name).toBe('top_activation');
    expect(await base.getLayer('top_conv').weights[0]!.read()).toEqual(await fromH5.getLayer('top_conv').weights[0]!.read());
    for (const m of [fromOnnx, fromH5, base]) m.dispose();
  });

  it('names the layer on a layer-name mismatch and both shapes on a shape mismatch, and loads nothing', async () => {
    const renamed = NOTOP.map((l) => (l.name === 'block3a_se_reduce' ? { ...l, name: 'block3a_se_reduce_x' } : l));
    await expect(efficientNetB0({ weights: await encodeKerasH5(renamed), includeTop: false, inputShape: [SIZE, SIZE, 3] }))
      .rejects.toThrow(/has no weights for layer\(s\) block3a_se_reduce\b/);
    const renamedPath = join(tmp, 'renamed.h5');
    writeFileSync(renamedPath, await encodeKerasH5(renamed));
    const fresh = efficientNetB0({ weights: null, includeTop: false, inputShape: [SIZE, SIZE, 3] });
    await expect(fresh.loadWeights(renamedPath)).rejects.toThrow(`layer 'block3a_se_reduce' of model 'efficientnetb0' has no weights in ${renamedPath}`);

    const before = await fresh.getLayer('stem_conv').weights[0]!.read();
    const reshaped = NOTOP.map((l) => (l.name !== 'top_conv' ? l : {
      ...l, weights: [{ ...l.weights[0]!, shape: [1, 1, 320, 1000], values: new Float32Array(320 * 1000) }],
    }));
    const reshapedPath = join(tmp, 'reshaped.h5');
    writeFileSync(reshapedPath, await encodeKerasH5(reshaped));
    await expect(fresh.loadWeights(reshapedPath)).rejects.toThrow(
      `layer 'top_conv': weight 'kernel' has shape [1,1,320,1280] in model 'efficientnetb0' but [1,1,320,1000] in ${reshapedPath}`);
    // NOTE: the checks run before any write: stem_conv (before top_conv in the file) keeps its fresh values.
    expect(await fresh.getLayer('stem_conv').weights[0]!.read()).toEqual(before);
    fresh.dispose();
  });
});

/** conv -> bn -> pool -> dense with Keras names, and a file for it. */
function small(name = 'small', units = 4): Model {
  const x = input({ shape: [6, 6, 2], name: 'input_1' });
  let y = layers.conv2d({ filters: 3, kernelSize: 3, name: 'conv', useBias: true }).apply(x);
  y = layers.batchNormalization({ name: 'bn' }).apply(y);
  y = layers.globalAveragePooling2d({ name: 'pool' }).apply(y);
  y = layers.dense({ units, name: 'dense' }).apply(y);
  return makeModel({ inputs: x, outputs: y, name });
}

const seq = (n: number, start: number) => Float32Array.from({ length: n }, (_, i) => start + i / 8);
function smallFile(units = 4, extra: KerasLayer[] = []): KerasLayer[] {
  const w = (l: string, n: string, shape: number[], start: number) => ({ name: `${l}/${n}:0`, shape, values: seq(shape.reduce((a, b) => a * b, 1), start) });
  return [
    { name: 'input_1', weights: [] },
    { name: 'conv', weights: [w('conv', 'kernel', [3, 3, 2, 3], 1), w('conv', 'bias', [3], 2)] },
    { name: 'bn', weights: [w('bn', 'gamma', [3], 3), w('bn', 'beta', [3], 4), w('bn', 'moving_mean', [3], 5), w('bn', 'moving_variance', [3], 6)] },
    { name: 'pool', weights: [] },
    { name: 'dense', weights: [w('dense', 'kernel', [3, units], 7), w('dense', 'bias', [units], 8)] },
    ...extra,
  ];
}

async function writeH5(name: string, ls: KerasLayer[]): Promise<string> {
  const p = join(tmp, name);
  writeFileSync(p, await encodeKerasH5(ls));
  return p;
}

describe('model.loadWeights on Keras .h5', () => {
  it('writes every weight by name, exactly, in both layouts', async () => {
    const m = small();
    const file = smallFile();
    for (const layout of ['weights', 'model'] as const) {
      const p = join(tmp, `small-${layout}.h5`);
      writeFileSync(p, await encodeKerasH5(file, { layout }));
      await m.loadWeights(p);
      for (const l of file) {
        for (const w of l.weights) {
          const v = m.namedWeights().get(w.name.replace(':0', ''))!;
          expect(await v.read(), `${layout} ${w.name}`).toEqual(w.values);
        }
      }
    }
    m.dispose();
  });

  it("loads a nested model's weights from its group, as Keras saves the tutorial's classifier", async () => {
    const inner = small('base');
    const x = input({ shape: [6, 6, 2], name: 'input_2' });
    const y = layers.dense({ units: 2, name: 'head' }).apply(inner.apply(x));
    const outer = makeModel({ inputs: x, outputs: y, name: 'classifier' });
    // Keras: the nested model is one group whose weight names are its own layers' (`conv/kernel:0`), trainable first.
    const own = smallFile().filter((l) => l.weights.length > 0);
    const nested = [...own.flatMap((l) => l.weights.filter((w) => !w.name.includes('moving'))), ...own.flatMap((l) => l.weights.filter((w) => w.name.includes('moving')))];
    const p = await writeH5('nested.h5', [
      { name: 'input_2', weights: [] }, { name: 'base', weights: nested },
      { name: 'head', weights: [{ name: 'head/kernel:0', shape: [4, 2], values: seq(8, 9) }, { name: 'head/bias:0', shape: [2], values: seq(2, 10) }] },
    ]);
    await outer.loadWeights(p);
    expect(await inner.getLayer('bn').weights[2]!.read()).toEqual(seq(3, 5));
    expect(await outer.getLayer('head').weights[0]!.read()).toEqual(seq(8, 9));
    outer.dispose();
  });

  it("follows Keras' byName and skipMismatch", async () => {
    const m = small('small', 5);
    const extra = await writeH5('extra.h5', smallFile(4, [{ name: 'head', weights: [{ name: 'head/kernel:0', shape: [2, 2], values: seq(4, 0) }] }]));
    await expect(m.loadWeights(extra)).rejects.toThrow(`${extra} has weights for layer 'head', which model 'small' does not have`);
    await expect(m.loadWeights(extra, { skipMismatch: true })).rejects.toThrow(/skipMismatch applies only with byName: true/);
    await expect(m.loadWeights(extra, { byName: true })).rejects.toThrow(`layer 'dense': weight 'kernel' has shape [3,5] in model 'small' but [3,4] in ${extra}`);
    const denseBefore = await m.getLayer('dense').weights[0]!.read();
    await m.loadWeights(extra, { byName: true, skipMismatch: true });
    expect(await m.getLayer('conv').weights[0]!.read()).toEqual(seq(54, 1));
    expect(await m.getLayer('dense').weights[0]!.read()).toEqual(denseBefore);
    // dense/bias [4] vs [5] is skipped too; head (not in the model) is ignored by name.
    expect(await m.getLayer('dense').weights[1]!.read()).toEqual(new Float32Array(5));

    const m4 = small('small4', 4);
    const noBn = await writeH5('no-bn.h5', smallFile().filter((l) => l.name !== 'bn'));
    await expect(m4.loadWeights(noBn)).rejects.toThrow(`layer 'bn' of model 'small4' has no weights in ${noBn}`);
    await m4.loadWeights(noBn, { byName: true });
    expect(await m4.getLayer('dense').weights[1]!.read()).toEqual(seq(4, 8));
    const bnShort = await writeH5('bn-short.h5', smallFile().map((l) => (l.name === 'bn' ? { ...l, weights: l.weights.slice(0, 2) } : l)));
    await expect(m4.loadWeights(bnShort)).rejects.toThrow(`layer 'bn': weight 'moving_mean' [3] of model 'small4' is missing from ${bnShort}`);
    const other = await writeH5('other.h5', [{ name: 'x', weights: [{ name: 'x/kernel:0', shape: [1], values: seq(1, 0) }] }]);
    await expect(m4.loadWeights(other, { byName: true })).rejects.toThrow(/no layer of .* \(x\) is a layer of model 'small4'/);
    m.dispose();
    m4.dispose();
  });

  it('rejects files that are not Keras HDF5 weights with a message naming the file', async () => {
    const m = small();
    const good = await encodeKerasH5(smallFile());
    const truncated = join(tmp, 'truncated.h5');
    writeFileSync(truncated, good.subarray(0, 800));
    await expect(m.loadWeights(truncated)).rejects.toThrow(Hdf5Error);
    await expect(m.loadWeights(truncated)).rejects.toThrow(`Graft HDF5 ${truncated}:`);
    // NOTE: bytes without the HDF5 signature are read as ONNX, the other format efficientNetB0 takes as bytes.
    await expect(efficientNetB0({ weights: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9) })).rejects.toThrow(/Graft ONNX <bytes>: .*not an ONNX model/);
    const h5wasm = (await import('h5wasm')).default;
    const { FS } = await h5wasm.ready;
    const f = new h5wasm.File('/keras3.h5', 'w');
    f.create_group('layers');
    f.create_group('vars');
    f.close();
    const k3 = join(tmp, 'keras3.h5');
    writeFileSync(k3, FS!.readFile('/keras3.h5'));
    await expect(m.loadWeights(k3)).rejects.toThrow(/Keras 3's .weights.h5 layout/);
    // A chunked dataset resized to 10^9 values without writing them: a tiny file that would allocate 4 GB.
    const huge = new h5wasm.File('/huge.h5', 'w');
    huge.create_attribute('layer_names', ['conv'], [1], 'A5');
    const g = huge.create_group('conv');
    g.create_attribute('weight_names', ['conv/kernel:0'], [1], 'A14');
    const d = g.create_group('conv').create_dataset({ name: 'kernel:0', data: new Float32Array(1), shape: [1], maxshape: [null], chunks: [1], dtype: '<f' });
    d.resize([1e9]);
    huge.close();
    const hugePath = join(tmp, 'huge.h5');
    writeFileSync(hugePath, FS!.readFile('/huge.h5'));
    await expect(m.loadWeights(hugePath)).rejects.toThrow(/dataset '\/conv\/conv\/kernel:0' declares 4000000000 bytes of values, more than the file's \d+ bytes/);
    const strings = await writeH5('strings.h5', [{ name: 'conv', weights: [] }]);
    await expect(m.loadWeights(strings)).rejects.toThrow(`layer 'conv' of model 'small' has no weights in ${strings}`);
    m.dispose();
  });
});
