// Runs inside Chromium (bundled by Vite): MobileNetV2 from the ONNX file's bytes, inference at batch 1 and 8 and one
// fine-tuning step (last 10 layers unfrozen), in Graft and in its TensorFlow.js twin (tfjs-backend-webgpu), same page.
// Validates first (probabilities and the first step's loss agree), then times.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import * as tfl from '@tensorflow/tfjs-layers';
import '../../src/browser/index.js';
import { importOnnx } from '../../src/api/import-onnx.js';
import { deserializeLayer } from '../../src/nn/registry.js';
import { init, noGrad } from '../../src/tensor/engine.js';
import { rng, tensor, type Tensor } from '../../src/tensor/tensor.js';
import { Model } from '../../src/train/model.js';
import { adam } from '../../src/train/optimizers/index.js';
import { Accumulator, trainStep } from '../../src/train/step.js';
import { timeAsync, type BenchRow, type Timing } from '../harness.js';
import { tfjsTwin, type GraphConfig, type NamedWeight } from './tfjs-twin.js';

/** What the Node driver asks for. */
export interface PageOptions {
  /** URL of the ONNX MobileNetV2 on the page's server. */
  weightsUrl: string;
  /** Square input size the model is rebuilt at. */
  size: number;
  inferBatches: number[];
  trainBatch: number;
  /** Layers unfrozen for the fine-tuning step (from the end of `model.layers`). */
  unfrozen: number;
  /** Timed calls per row (after one first call and one warm-up). */
  iters: number;
}

/** What the page returns. */
export interface PageResult {
  adapter: string;
  rows: BenchRow[];
  /** Validation lines (printed by the driver). */
  checks: string[];
  /** Why the tfjs peer is absent, when it is. */
  tfjsError?: string;
}

const CLASSES_TOL = 1e-4;

function pixels(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => 2 * r() - 1);
}

function oneHot(batch: number, classes: number, seed: number): Float32Array {
  const r = rng(seed);
  const y = new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) y[i * classes + Math.floor(r() * classes)] = 1;
  return y;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`browser bench: ${a.length} vs ${b.length} outputs`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Imports the file at its own size, then rebuilds the same graph at `size` and copies the weights by name. */
async function loadMobileNet(url: string, size: number): Promise<{ model: Model; graph: GraphConfig; weights: Map<string, NamedWeight> }> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`browser bench: ${url}: HTTP ${res.status}`);
  const file = importOnnx(new Uint8Array(await res.arrayBuffer()), { name: 'mobilenet_v2' });
  try {
    const config = file.getConfig() as unknown as GraphConfig & Record<string, unknown>;
    const input = config.layers.find((l) => l.className === 'InputLayer');
    if (!input) throw new Error('browser bench: the imported model has no InputLayer');
    input.config['shape'] = [size, size, 3];
    const model = deserializeLayer({ className: 'Functional', config });
    if (!(model instanceof Model)) throw new Error('browser bench: the rebuilt model is not a Model');
    const byName = new Map(file.weights.map((w) => [w.name, w]));
    const weights = new Map<string, NamedWeight>();
    for (const w of model.weights) {
      const src = byName.get(w.name);
      if (!src) throw new Error(`browser bench: weight '${w.name}' is not in the file`);
      w.assign(src.value);
      weights.set(w.name, { shape: [...w.shape], values: (await src.value.data()) as Float32Array });
    }
    return { model, graph: config, weights };
  } finally {
    file.dispose();
  }
}

function unfreezeLast(model: Model, n: number): string[] {
  for (const l of model.layers) l.trainable = false;
  const last = model.layers.slice(-n);
  for (const l of last) l.trainable = true;
  return last.map((l) => l.name);
}

const fmtFirst = (t: Timing) => `first ${(t.firstMs / 1000).toFixed(1)} s`;

/** The whole browser benchmark; returns rows in the harness' format. */
export async function runBrowserBench(o: PageOptions): Promise<PageResult> {
  const device = await init();
  const info = device.adapterInfo;
  const adapter = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const checks: string[] = [];
  const { model, graph, weights } = await loadMobileNet(o.weightsUrl, o.size);
  const classes = model.outputs[0]!.shape[1] as number;
  const label = `MobileNetV2 ${o.size}x${o.size}`;

  let tfjsError: string | undefined;
  let twin: tfl.LayersModel | null = null;
  try {
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
    await tf.ready();
    twin = tfjsTwin(tf, tfl, graph, weights);
  } catch (e) {
    tfjsError = `tfjs-webgpu: ${(e as Error).message}`;
  }

  const rows: BenchRow[] = [];
  try {
    // ---- inference: validate at every batch, then time
    for (const b of o.inferBatches) {
      const xs = pixels(b * o.size * o.size * 3, 10 + b);
      const x = tensor(xs, [b, o.size, o.size, 3]);
      let y: Tensor | null = null;
      const probs = await noGrad(() => model.apply(x, { training: false })).data();
      const peers: Record<string, number> = {};
      let note = '';
      if (twin) {
        const tx = tf.tensor4d(xs, [b, o.size, o.size, 3]);
        const ty = twin.predict(tx) as tf.Tensor;
        const diff = maxAbsDiff(probs, await ty.data());
        ty.dispose();
        checks.push(`inference batch ${b}: max |graft - tfjs| = ${diff.toExponential(2)} over ${probs.length} probabilities`);
        if (!(diff <= CLASSES_TOL)) throw new Error(`browser bench: Graft and tfjs probabilities differ by ${diff} at batch ${b} (tolerance ${CLASSES_TOL})`);
        let tyt: tf.Tensor | null = null;
        const tt = await timeAsync(
          () => (tyt = twin!.predict(tx) as tf.Tensor),
          async () => {
            await tyt!.data();
            tyt!.dispose();
          },
          { warmup: 1, iters: o.iters },
        );
        tx.dispose();
        peers['tfjs-webgpu'] = tt.ms;
        note = `; tfjs ${fmtFirst(tt)}`;
      }
      const t = await timeAsync(
        () => (y = noGrad(() => model.apply(x, { training: false }))),
        async () => {
          await y!.data();
          y!.dispose();
        },
        { warmup: 1, iters: o.iters },
      );
      x.dispose();
      rows.push({ name: `browser ${label} inference batch ${b}`, metric: 'ms', graft: t.ms, peers, note: `graft ${fmtFirst(t)}${note}` });
    }

    // ---- one fine-tuning step: last layers unfrozen, Adam, categorical cross-entropy on the softmax output
    const b = o.trainBatch;
    const xs = pixels(b * o.size * o.size * 3, 77);
    const ys = oneHot(b, classes, 78);
    const lastNames = unfreezeLast(model, o.unfrozen);
    const optimizer = adam({ learningRate: 1e-4 });
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const trainable = model.trainableWeights.reduce((n, w) => n + w.value.size, 0);
    const x = tensor(xs, [b, o.size, o.size, 3]);
    const y = tensor(ys, [b, classes]);
    const acc = new Accumulator(['loss']);
    const losses: number[] = [];
    const t = await timeAsync(
      () => trainStep(model, model.compiled!, x, y, acc),
      async () => {
        losses.push((await acc.read()).loss!);
      },
      { warmup: 1, iters: o.iters },
    );
    acc.dispose();
    optimizer.dispose();
    x.dispose();
    y.dispose();
    if (!losses.every(Number.isFinite)) throw new Error(`browser bench: Graft fine-tuning losses ${losses.join(', ')}`);
    const peers: Record<string, number> = {};
    let note = '';
    if (twin) {
      const names = new Set(lastNames);
      const vars = twin.layers.filter((l) => names.has(l.name)).flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
      const count = vars.reduce((n, v) => n + v.size, 0);
      if (count !== trainable) throw new Error(`browser bench: tfjs trains ${count} parameters, Graft ${trainable}`);
      const tx = tf.tensor4d(xs, [b, o.size, o.size, 3]);
      const ty = tf.tensor2d(ys, [b, classes]);
      const topt = tf.train.adam(1e-4);
      const loss = () => tf.mean(tfl.metrics.categoricalCrossentropy(ty, twin!.apply(tx) as tf.Tensor)) as tf.Scalar;
      const tlosses: number[] = [];
      let cost: tf.Scalar | null = null;
      const tt = await timeAsync(
        () => (cost = topt.minimize(loss, true, vars)),
        async () => {
          tlosses.push((await cost!.data())[0]!);
          cost!.dispose();
        },
        { warmup: 1, iters: o.iters },
      );
      tx.dispose();
      ty.dispose();
      topt.dispose();
      const rel = Math.abs(losses[0]! - tlosses[0]!) / Math.abs(tlosses[0]!);
      checks.push(`fine-tuning step 1 loss: graft ${losses[0]!.toFixed(6)}, tfjs ${tlosses[0]!.toFixed(6)} (relative ${rel.toExponential(2)})`);
      if (!(rel <= CLASSES_TOL)) throw new Error(`browser bench: first fine-tuning loss differs: graft ${losses[0]}, tfjs ${tlosses[0]}`);
      peers['tfjs-webgpu'] = tt.ms;
      note = `; tfjs ${fmtFirst(tt)}`;
    }
    rows.push({
      name: `browser ${label} fine-tune step batch ${b} (last ${o.unfrozen} layers)`, metric: 'ms', graft: t.ms, peers,
      note: `graft ${fmtFirst(t)}; ${trainable.toLocaleString('en-US')} trainable${note}`,
    });
  } finally {
    model.dispose();
    twin?.dispose();
  }
  return { adapter, rows, checks, ...(tfjsError ? { tfjsError } : {}) };
}
