// EfficientNet-B0 end to end: inference at batch 1 and 8 (ms, images/s) and one training step at batch 8 with the
// base frozen under a new Dense(10) head, with its last 10 layers unfrozen, and fully trainable (the Keras
// transfer-learning guide: base applied with training: false, GAP, Dense(10, softmax), Adam). Peers in the same run:
// TensorFlow.js 4.22 webgpu and wasm (the same architecture from tfjs-layers) and onnxruntime-node 1.30 cpu and
// webgpu (inference, on a B0 fixture file in torchvision's export style).
// Validation before timing: Graft's import of the fixture gives onnxruntime cpu's logits (within 1e-4 of their
// scale); the tfjs models have Graft's parameter counts (total and trainable per case), and with Graft's weights
// copied in, the tfjs base gives Graft's features.
// Counts (src/gpu/counters.ts), for Graft and tfjs-webgpu alike: dispatches, kernel bytes bound and submits per
// image and per step, and peak GPU memory, from one extra untimed call, with the matmul/conv/depthwise kernels that
// Graft's counted call ran (the variants the heuristic or the tuner chose). A separate row gives the peak GPU memory of
// one all-trainable step at --peak-batch=32 and --peak-size=96 (both engines fresh, first thing in the process).
// Options: --size=224, --infer-batches=1,8, --train-batches=8, --train-cases=frozen,last10,all, --peak-batch, --peak-size.

import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as g from '../src/index.js';
import { efficientNetB0 } from '../src/applications/index.js';
import { makeEfficientNetOnnx } from '../tools/fixtures/efficientnet-fixture.js';
import { Accumulator, trainStep } from '../src/train/step.js';
import { countWork, isInstrumented, watchKernels, type MemoryCounts, type WorkCounts } from '../src/gpu/counters.js';
import { intList, type BenchContext, type BenchRow, type Suite, type Timing } from './harness.js';
import { openOrt, ortPeers, type OrtPeer } from './peers/ort.js';
import { loadTfjs, type Tf, type TfjsBackend } from './peers/tfjs.js';
import { loadTfjsLayers, tfjsEfficientNetB0, type Tfl } from './peers/tfjs-efficientnet.js';
import { boxMuller } from '../src/tensor/random.js';

type TfTensor = import('@tensorflow/tfjs-core').Tensor;
type TfVariable = import('@tensorflow/tfjs-core').Variable;
type LayersModel = import('@tensorflow/tfjs-layers').LayersModel;

const HEAD_CLASSES = 10;
/** Iterations slower than this get no warm-up beyond the first (compiling) call: the suite must fit in minutes. */
const HEAVY_MS = 15_000;
/** First calls slower than this get a single timed iteration (tfjs-webgpu's fully trainable step takes ~1 min). */
const VERY_HEAVY_MS = 40_000;

/** The three fine-tuning setups, each a row. */
const CASES = [
  { key: 'frozen', label: 'frozen base + Dense(10)' },
  { key: 'last10', label: 'last 10 base layers unfrozen' },
  { key: 'all', label: 'all trainable' },
] as const;
type CaseKey = (typeof CASES)[number]['key'];

/** Figures of one contender, by row key; absent rows failed (the reason is logged). */
type Figures = Record<string, number>;
/** Counts of one contender's counted call, by row key. */
type CountsByKey = Record<string, WorkCounts & MemoryCounts>;

/** Counts one call of `fn` (then `sync`) on `device` into `into[key]`; a no-op without instrumentation or device. */
async function countOnce(device: GPUDevice | undefined, into: CountsByKey, key: string, fn: () => void, sync: () => Promise<void>): Promise<void> {
  if (!device || !isInstrumented()) return;
  into[key] = await countWork(device, fn, sync);
}
/** Kernels of the families that have variants (matmul, conv, depthwise), by name, and how often each ran. */
type KernelTally = Map<string, number>;
const VARIANT_KERNELS = /^(matmul|conv|depthwise)/;

/** Runs `fn` and tallies the kernels of the variant families that Graft's device recorded, by name. */
async function tallyKernels(device: g.Device, fn: () => Promise<void>): Promise<KernelTally> {
  const watch = watchKernels(device);
  try {
    await fn();
  } finally {
    watch.stop();
  }
  const tally: KernelTally = new Map();
  for (const name of watch.names) if (VARIANT_KERNELS.test(name)) tally.set(name, (tally.get(name) ?? 0) + 1);
  return tally;
}

const describeTally = (t: KernelTally) =>
  `kernels ${[...t].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} x${n}`).join(', ') || 'none'}`;

/** Why a peer has no figure in a row, by row key (printed in the row's note). */
type Missing = Map<string, string[]>;

/**
 * Times a call that takes seconds: a first call (pipeline compilation), one warm-up unless the first was heavy, then
 * `iters` timed calls (one when the first was very heavy); returns the median (mean of the middle two for an even count).
 */
async function timeSteps(fn: () => void, sync: () => Promise<void>, iters: number): Promise<Timing & { calls: number }> {
  const t0 = performance.now();
  fn();
  await sync();
  const firstMs = performance.now() - t0;
  let calls = 1;
  if (firstMs < HEAVY_MS) {
    fn();
    await sync();
    calls++;
  }
  const samples: number[] = [];
  for (let i = 0; i < (firstMs > VERY_HEAVY_MS ? 1 : iters); i++) {
    const s = performance.now();
    fn();
    await sync();
    samples.push(performance.now() - s);
  }
  samples.sort((a, b) => a - b);
  const m = samples.length >> 1;
  return { ms: samples.length % 2 ? samples[m]! : (samples[m - 1]! + samples[m]!) / 2, firstMs, calls: calls + samples.length };
}

/** Pixels in 0..255 whose ImageNet-normalized values are ~N(0, 1) (what the fixture's BN statistics expect). */
function pixels(batch: number, size: number, seed: number): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const r = g.rng(seed);
  return Float32Array.from({ length: batch * size * size * 3 }, (_, i) => {
    const z = boxMuller(1 - r(), r())[0];
    return Math.round(255 * Math.min(1, Math.max(0, mean[i % 3]! + std[i % 3]! * z)));
  });
}

/** What torchvision's exported graph takes: (x/255 - mean) / std, NCHW. */
function torchvisionInput(x: Float32Array, batch: number, size: number): Float32Array {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const out = new Float32Array(x.length);
  const hw = size * size;
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < hw; p++) out[(n * 3 + c) * hw + p] = (x[(n * hw + p) * 3 + c]! / 255 - mean[c]!) / std[c]!;
    }
  }
  return out;
}

/** max |a - b| and max |b|. */
function compare(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  if (a.length !== b.length) return { diff: Infinity, scale: 0 };
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { diff, scale };
}

function checkClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rel: number): string {
  const { diff, scale } = compare(got, want);
  if (!(scale > 0 && diff <= rel * scale)) throw new Error(`model bench: ${what} failed validation (max |diff| ${diff} at output scale ${scale})`);
  return `${what}: max |diff| ${diff.toExponential(2)} at scale ${scale.toPrecision(3)}`;
}

/** The fixture file (torchvision style, BN kept, 1000 classes), written once per size into the temp folder. */
function fixturePath(size: number): string {
  const path = join(tmpdir(), `graft-bench-b0-torchvision-${size}.onnx`);
  if (!existsSync(path)) writeFileSync(path, makeEfficientNetOnnx({ style: 'torchvision', size, seed: 1 }));
  return path;
}

const paramCount = (m: g.Model) => m.weights.reduce((n, w) => n + w.value.size, 0);
const trainableCount = (m: g.Model) => m.trainableWeights.reduce((n, w) => n + w.value.size, 0);

interface Plan {
  size: number;
  inferBatches: number[];
  train: boolean;
  trainBatches: number[];
  cases: CaseKey[];
  iters: number;
  /** The all-trainable step whose peak GPU memory gets its own row (batch, input size), or null. */
  peak: { batch: number; size: number } | null;
}

/** One engine's figures for the peak-memory row: peak MB of the counted step, and the first and counted step times. */
interface Peak {
  mb: number;
  firstMs: number;
  ms: number;
}

/** Row keys shared by Graft and the peers. */
const inferKey = (b: number) => `infer${b}`;
const trainKey = (k: CaseKey, batch: number) => `train-${k}-${batch}`;

// ---------------------------------------------------------------- Graft

interface GraftResult {
  figures: Figures;
  notes: Record<string, string>;
  counts: CountsByKey;
  /** Total parameters of the inference model (with top) and trainable parameters per fine-tuning case. */
  inferParams: number;
  trainable: Record<CaseKey, number>;
  /** Names of the base's last 10 layers (the peer unfreezes the same ones). */
  lastTen: string[];
  /** Host copies of the training base's weights by layer name, and its features on `probe` (peer architecture check). */
  baseWeights: Map<string, { shape: number[]; values: Float32Array }[]>;
  probe: { x: Float32Array; features: Float32Array };
  /** The peak-memory step's figures and trainable parameter count, when it ran. */
  peak?: { peak: Peak; trainable: number };
}

async function graftInference(ctx: BenchContext, plan: Plan, out: GraftResult): Promise<void> {
  const { device, log } = ctx;
  const path = fixturePath(plan.size);
  const model = efficientNetB0({ weights: path });
  try {
    out.inferParams = paramCount(model);
    // NOTE: validated against onnxruntime cpu on the same pixels before anything is timed.
    const xv = pixels(1, plan.size, 11);
    const ref = await openOrt(path, 'cpu');
    const want = await ref.run(torchvisionInput(xv, 1, plan.size), [1, 3, plan.size, plan.size]);
    await ref.release();
    const xt = g.tensor(xv, [1, plan.size, plan.size, 3]);
    const yt = g.noGrad(() => model.apply(xt) as g.Tensor);
    log(checkClose('graft fixture logits vs ort-cpu', await yt.data(), want, 1e-4));
    xt.dispose();
    yt.dispose();

    for (const b of plan.inferBatches) {
      const x = g.tensor(pixels(b, plan.size, 20 + b), [b, plan.size, plan.size, 3]);
      let y: g.Tensor | null = null;
      const d0 = device.dispatchCount;
      const t = await timeSteps(
        () => (y = g.noGrad(() => model.apply(x) as g.Tensor)),
        async () => {
          await y!.data();
          y!.dispose();
        },
        plan.iters,
      );
      out.figures[inferKey(b)] = t.ms;
      const tally = await tallyKernels(device, () =>
        countOnce(device.gpu, out.counts, inferKey(b), () => (y = g.noGrad(() => model.apply(x) as g.Tensor)), async () => {
          await y!.data();
          y!.dispose();
        }),
      );
      out.notes[inferKey(b)] = `first ${(t.firstMs / 1000).toFixed(1)} s; ${Math.round((device.dispatchCount - d0) / t.calls)} dispatches; ${describeTally(tally)}`;
      log(`graft inference batch ${b} ${describeTally(tally)}`);
      log(`graft inference batch ${b}: ${t.ms.toFixed(0)} ms`);
      x.dispose();
    }
  } finally {
    model.dispose();
  }
}

/** Keras' tutorial model: the base applied with training: false, GAP, Dense(10, softmax). */
function fineTuneModel(base: g.Model, size: number): g.Model {
  const inp = g.input({ shape: [size, size, 3], name: 'image' });
  let h = base.apply(inp, { training: false });
  h = g.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(h);
  const o = g.layers.dense({ units: HEAD_CLASSES, activation: 'softmax', name: 'head' }).apply(h);
  return g.model({ inputs: inp, outputs: o, name: 'fine_tune' });
}

/** Sets the base's trainable flags for a case, as a Keras user would. */
function setCase(base: { trainable: boolean; layers: { name: string; trainable: boolean }[] }, k: CaseKey, lastTen: Set<string>): void {
  base.trainable = k !== 'frozen';
  if (k === 'frozen') return;
  for (const l of base.layers) l.trainable = k === 'all' || lastTen.has(l.name);
}

/** Labels (one-hot over the head's classes) and pixels of one training batch. */
function trainData(size: number, batch: number): { x: Float32Array; y: Float32Array } {
  const y = new Float32Array(batch * HEAD_CLASSES);
  for (let i = 0; i < batch; i++) y[i * HEAD_CLASSES + ((i * 7) % HEAD_CLASSES)] = 1;
  return { x: pixels(batch, size, 5), y };
}

/** Host copies of the fresh base's weights and its features on the probe image (what the tfjs architecture check needs). */
async function captureBase(base: g.Model, size: number, out: GraftResult): Promise<void> {
  for (const l of base.layers) {
    if (l.weights.length === 0) continue;
    out.baseWeights.set(l.name, await Promise.all(l.weights.map(async (w) => ({ shape: [...w.value.shape], values: await w.read() }))));
  }
  const px = g.tensor(out.probe.x, [1, size, size, 3]);
  const feat = g.noGrad(() => base.apply(px, { training: false }) as g.Tensor);
  out.probe.features = (await feat.data()) as Float32Array;
  px.dispose();
  feat.dispose();
}

/** The fresh base (captured for the peer check) and, unless quick, the three timed training steps. */
async function graftTraining(ctx: BenchContext, plan: Plan, out: GraftResult): Promise<void> {
  const { device, log } = ctx;
  g.setSeed(3);
  const base = efficientNetB0({ weights: null, includeTop: false, inputShape: [plan.size, plan.size, 3] });
  const full = fineTuneModel(base, plan.size);
  try {
    out.lastTen = base.layers.slice(-10).map((l) => l.name);
    await captureBase(base, plan.size, out);
    if (!plan.train) return;
    const lastTen = new Set(out.lastTen);
    for (const batch of plan.trainBatches) {
      const data = trainData(plan.size, batch);
      const x = g.tensor(data.x, [batch, plan.size, plan.size, 3]);
      const y = g.tensor(data.y, [batch, HEAD_CLASSES]);
      try {
        for (const c of CASES.filter((c) => plan.cases.includes(c.key))) {
          setCase(base, c.key, lastTen);
          const optimizer = g.optimizers.adam();
          full.compile({ optimizer, loss: 'categoricalCrossentropy' });
          out.trainable[c.key] = trainableCount(full);
          let loss = NaN;
          const acc = new Accumulator(['loss']);
          const d0 = device.dispatchCount;
          const step = () => trainStep(full, full.compiled!, x, y, acc);
          const read = async () => {
            loss = (await acc.read()).loss!;
          };
          const t = await timeSteps(step, read, plan.iters);
          const key = trainKey(c.key, batch);
          const tally = await tallyKernels(device, () => countOnce(device.gpu, out.counts, key, step, read));
          acc.dispose();
          optimizer.dispose();
          if (!Number.isFinite(loss)) throw new Error(`model bench: graft training step (${c.label}, batch ${batch}) gave loss ${loss}`);
          out.figures[key] = t.ms;
          out.notes[key] = `first ${(t.firstMs / 1000).toFixed(1)} s; ${Math.round((device.dispatchCount - d0) / t.calls)} dispatches; ${out.trainable[c.key].toLocaleString('en-US')} trainable; ${describeTally(tally)}`;
          log(`graft train step (${c.label}, batch ${batch}) ${describeTally(tally)}`);
          log(`graft train step (${c.label}, batch ${batch}): ${t.ms.toFixed(0)} ms, loss ${loss.toFixed(3)}`);
        }
      } finally {
        x.dispose();
        y.dispose();
      }
    }
  } finally {
    full.dispose();
  }
}

/**
 * Graft's peak-memory step: a fresh all-trainable fine-tuning model at the peak size, one step (pipelines, optimizer
 * state, pool filled), then one counted step. Runs first in the process, on an empty pool, as the peer's does.
 */
async function graftPeak(ctx: BenchContext, peak: { batch: number; size: number }): Promise<{ peak: Peak; trainable: number } | null> {
  const { device, log } = ctx;
  if (!isInstrumented()) return null;
  device.pool.trim();
  g.setSeed(3);
  const base = efficientNetB0({ weights: null, includeTop: false, inputShape: [peak.size, peak.size, 3] });
  const full = fineTuneModel(base, peak.size);
  const data = trainData(peak.size, peak.batch);
  const x = g.tensor(data.x, [peak.batch, peak.size, peak.size, 3]);
  const y = g.tensor(data.y, [peak.batch, HEAD_CLASSES]);
  const optimizer = g.optimizers.adam();
  const acc = new Accumulator(['loss']);
  try {
    setCase(base, 'all', new Set());
    full.compile({ optimizer, loss: 'categoricalCrossentropy' });
    let loss = NaN;
    const step = () => trainStep(full, full.compiled!, x, y, acc);
    const read = async () => {
      loss = (await acc.read()).loss!;
    };
    const t0 = performance.now();
    step();
    await read();
    const firstMs = performance.now() - t0;
    const t1 = performance.now();
    const counts: CountsByKey = {};
    await countOnce(device.gpu, counts, 'peak', step, read);
    const ms = performance.now() - t1;
    if (!Number.isFinite(loss)) throw new Error(`model bench: graft peak-memory step gave loss ${loss}`);
    log(`graft peak-memory step (all trainable, batch ${peak.batch}, ${peak.size}px): ${(counts['peak']!.peakBytes / 1e6).toFixed(0)} MB, ${ms.toFixed(0)} ms`);
    return { peak: { mb: counts['peak']!.peakBytes / 1e6, firstMs, ms }, trainable: trainableCount(full) };
  } finally {
    acc.dispose();
    optimizer.dispose();
    x.dispose();
    y.dispose();
    full.dispose();
    // NOTE: buffers released since the last submit wait for it before the pool holds (and trims) them.
    await device.sync();
    device.pool.trim();
  }
}

// ---------------------------------------------------------------- TensorFlow.js

const tfCount = (ws: { shape: (number | null)[] }[]) => ws.reduce((n, w) => n + w.shape.reduce<number>((p, d) => p * (d ?? 1), 1), 0);

/** tfjs-webgpu's GPUDevice (not in its public types), for the counters; undefined on wasm. */
const tfjsDevice = (tf: Tf) => Reflect.get(tf.backend(), 'device') as GPUDevice | undefined;

function tfjsInference(tf: Tf, tfl: Tfl, plan: Plan, graft: GraftResult, log: (m: string) => void, counts: CountsByKey): Promise<Figures> {
  return withModel(tfjsEfficientNetB0(tf, tfl, { inputShape: [plan.size, plan.size, 3] }), async (model) => {
    const n = model.countParams();
    if (n !== graft.inferParams) throw new Error(`tfjs EfficientNet-B0 has ${n} parameters, Graft's has ${graft.inferParams}`);
    const figures: Figures = {};
    for (const b of plan.inferBatches) {
      const x = tf.tensor4d(pixels(b, plan.size, 20 + b), [b, plan.size, plan.size, 3]);
      let y: TfTensor | null = null;
      const t = await timeSteps(
        () => (y = model.predict(x) as TfTensor),
        async () => {
          await y!.data();
          y!.dispose();
        },
        plan.iters,
      );
      await countOnce(tfjsDevice(tf), counts, inferKey(b), () => (y = model.predict(x) as TfTensor), async () => {
        await y!.data();
        y!.dispose();
      });
      x.dispose();
      figures[inferKey(b)] = t.ms;
      log(`inference batch ${b}: ${t.ms.toFixed(0)} ms (first ${(t.firstMs / 1000).toFixed(1)} s)`);
    }
    return figures;
  });
}

async function withModel<T>(m: LayersModel, fn: (m: LayersModel) => Promise<T>): Promise<T> {
  try {
    return await fn(m);
  } finally {
    m.dispose();
  }
}

/** Copies Graft's fresh base weights into the tfjs base and compares features on the probe image. */
async function checkArchitecture(tf: Tf, base: LayersModel, graft: GraftResult, size: number): Promise<string> {
  for (const [name, ws] of graft.baseWeights) {
    const layer = base.getLayer(name);
    const tensors = ws.map((w) => tf.tensor(w.values, w.shape));
    layer.setWeights(tensors);
    tf.dispose(tensors);
  }
  const x = tf.tensor4d(graft.probe.x, [1, size, size, 3]);
  const y = base.predict(x) as TfTensor;
  const feats = await y.data();
  tf.dispose([x, y]);
  return checkClose('tfjs base features with Graft weights vs Graft', feats, graft.probe.features, 1e-3);
}

/** The tfjs twin of `fineTuneModel`: the base, GAP and Dense(10, softmax). */
function tfjsFineTune(tf: Tf, tfl: Tfl, size: number): { base: LayersModel; full: LayersModel } {
  const base = tfjsEfficientNetB0(tf, tfl, { inputShape: [size, size, 3], includeTop: false });
  const inp = tfl.input({ shape: [size, size, 3] });
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(base.apply(inp)) as import('@tensorflow/tfjs-layers').SymbolicTensor;
  const head = tfl.layers.dense({ units: HEAD_CLASSES, activation: 'softmax', name: 'head' }).apply(pooled);
  return { base, full: tfl.model({ inputs: inp, outputs: head as import('@tensorflow/tfjs-layers').SymbolicTensor }) };
}

/** One tfjs training step as a closure over `full` (the whole model applied with training: false, see tfjsTraining). */
function tfjsStep(tf: Tf, tfl: Tfl, full: LayersModel, x: TfTensor, y: TfTensor) {
  const vars = full.trainableWeights.map((w) => w.read() as TfVariable);
  const loss = () => tf.mean(tfl.metrics.categoricalCrossentropy(y, full.apply(x, { training: false }) as TfTensor)) as import('@tensorflow/tfjs-core').Scalar;
  const optimizer = tf.train.adam(0.001, 0.9, 0.999, 1e-7);
  let cost: TfTensor | null = null;
  const state = { value: NaN };
  return {
    state,
    optimizer,
    step: () => void (cost = optimizer.minimize(loss, true, vars)),
    read: async () => {
      state.value = (await cost!.data())[0]!;
      cost!.dispose();
    },
  };
}

/** The free-list part of tfjs-webgpu's BufferManager (not in its public types). */
interface TfjsBufferManager {
  freeBuffers: Map<string, GPUBuffer[]>;
  numFreeBuffers: number;
  numBytesAllocated: number;
}

/** Destroys the buffers tfjs-webgpu keeps for reuse, as Graft's `pool.trim()` does, so later rows start clean. */
function tfjsTrim(tf: Tf): void {
  const bm = Reflect.get(tf.backend(), 'bufferManager') as TfjsBufferManager | undefined;
  if (!bm?.freeBuffers) return;
  // NOTE: the keys stay (releaseBuffer ignores every release while the map is empty).
  for (const list of bm.freeBuffers.values()) {
    for (const b of list.splice(0)) {
      bm.numBytesAllocated -= b.size;
      bm.numFreeBuffers--;
      b.destroy();
    }
  }
}

/** The peer's peak-memory step, the twin of graftPeak (first thing this engine runs, so its pool holds nothing else). */
async function tfjsPeak(tf: Tf, tfl: Tfl, peak: { batch: number; size: number }, trainable: number, log: (m: string) => void): Promise<Peak | null> {
  const device = tfjsDevice(tf);
  if (!device || !isInstrumented()) return null;
  const { base, full } = tfjsFineTune(tf, tfl, peak.size);
  const data = trainData(peak.size, peak.batch);
  const x = tf.tensor4d(data.x, [peak.batch, peak.size, peak.size, 3]);
  const y = tf.tensor2d(data.y, [peak.batch, HEAD_CLASSES]);
  return withModel(full, async () => {
    setCase(base, 'all', new Set());
    const n = tfCount(full.trainableWeights);
    if (n !== trainable) throw new Error(`tfjs peak-memory step: ${n} trainable parameters, Graft has ${trainable}`);
    const s = tfjsStep(tf, tfl, full, x, y);
    try {
      const t0 = performance.now();
      s.step();
      await s.read();
      const firstMs = performance.now() - t0;
      const t1 = performance.now();
      const counts: CountsByKey = {};
      await countOnce(device, counts, 'peak', s.step, s.read);
      const ms = performance.now() - t1;
      if (!Number.isFinite(s.state.value)) throw new Error(`tfjs peak-memory step gave loss ${s.state.value}`);
      log(`peak-memory step (all trainable, batch ${peak.batch}, ${peak.size}px): ${(counts['peak']!.peakBytes / 1e6).toFixed(0)} MB, ${ms.toFixed(0)} ms`);
      return { mb: counts['peak']!.peakBytes / 1e6, firstMs, ms };
    } finally {
      s.optimizer.dispose();
      tf.dispose([x, y]);
    }
  }).finally(() => tfjsTrim(tf));
}

/** Checks the tfjs base against Graft's, then (unless quick) times the three training steps. */
async function tfjsTraining(tf: Tf, tfl: Tfl, backend: TfjsBackend, plan: Plan, graft: GraftResult, log: (m: string) => void, missing: Missing, counts: CountsByKey): Promise<Figures> {
  const { base, full } = tfjsFineTune(tf, tfl, plan.size);
  return withModel(full, async () => {
    log(await checkArchitecture(tf, base, graft, plan.size));
    if (!plan.train) return {};
    const figures: Figures = {};
    const lastTen = new Set(graft.lastTen);
    for (const batch of plan.trainBatches) {
      const data = trainData(plan.size, batch);
      const x = tf.tensor4d(data.x, [batch, plan.size, plan.size, 3]);
      const y = tf.tensor2d(data.y, [batch, HEAD_CLASSES]);
      for (const c of CASES.filter((c) => plan.cases.includes(c.key))) {
        const key = trainKey(c.key, batch);
        setCase(base, c.key, lastTen);
        const n = tfCount(full.trainableWeights);
        if (n !== graft.trainable[c.key]) throw new Error(`tfjs ${c.label}: ${n} trainable parameters, Graft has ${graft.trainable[c.key]}`);
        // NOTE: tfjs ignores a nested model's call-time training flag, so the whole model runs with training: false as Keras' base does.
        const { state, optimizer, step, read } = tfjsStep(tf, tfl, full, x, y);
        try {
          const t = await timeSteps(step, read, plan.iters);
          if (!Number.isFinite(state.value)) throw new Error(`loss ${state.value}`);
          await countOnce(tfjsDevice(tf), counts, key, step, read);
          figures[key] = t.ms;
          log(`train step (${c.label}, batch ${batch}): ${t.ms.toFixed(0)} ms (first ${(t.firstMs / 1000).toFixed(1)} s), loss ${state.value.toFixed(3)}`);
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          log(`train step (${c.label}, batch ${batch}) absent: ${why}`);
          missing.set(key, [...(missing.get(key) ?? []), `tfjs-${backend} absent: ${why.split('\n')[0]}`]);
        } finally {
          optimizer.dispose();
        }
      }
      x.dispose();
      y.dispose();
    }
    return figures;
  });
}

async function tfjsPeer(ctx: BenchContext, backend: TfjsBackend, plan: Plan, graft: GraftResult, missing: Missing, counts: CountsByKey, peaks: Record<string, Peak>): Promise<Figures> {
  const log = (m: string) => ctx.log(`tfjs-${backend} ${m}`);
  let restore: (() => void) | null = null;
  try {
    const tf = await loadTfjs(backend);
    // NOTE: IS_TEST (set by the loader to silence banners) also makes tfjs check every kernel for leaked data ids,
    // which costs time and throws on wasm's fusedConv2d under a gradient tape; a user's tfjs runs without it.
    const wasTest = tf.env().getBool('IS_TEST');
    tf.env().set('IS_TEST', false);
    restore = () => tf.env().set('IS_TEST', wasTest);
    const tfl = await loadTfjsLayers();
    if (plan.peak && graft.peak && backend === 'webgpu') {
      try {
        const p = await tfjsPeak(tf, tfl, plan.peak, graft.peak.trainable, log);
        if (p) peaks[`tfjs-${backend}`] = p;
      } catch (e) {
        log(`peak-memory step absent: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const figures = await tfjsInference(tf, tfl, plan, graft, log, counts);
    Object.assign(figures, await tfjsTraining(tf, tfl, backend, plan, graft, log, missing, counts));
    return figures;
  } catch (e) {
    log(`skipped: ${e instanceof Error ? e.message : String(e)}`);
    return {};
  } finally {
    restore?.();
  }
}

// ---------------------------------------------------------------- onnxruntime

async function ortInference(peer: OrtPeer, plan: Plan, log: (m: string) => void): Promise<Figures> {
  const figures: Figures = {};
  for (const b of plan.inferBatches) {
    const input = torchvisionInput(pixels(b, plan.size, 20 + b), b, plan.size);
    let pending: Promise<Float32Array> | null = null;
    const t = await timeSteps(
      () => (pending = peer.run(input, [b, 3, plan.size, plan.size])),
      async () => void (await pending),
      plan.iters,
    );
    figures[inferKey(b)] = t.ms;
    log(`ort-${peer.ep} inference batch ${b}: ${t.ms.toFixed(0)} ms (first ${(t.firstMs / 1000).toFixed(1)} s)`);
  }
  return figures;
}

// ---------------------------------------------------------------- rows

/** Count rows of one key: dispatches, kernel MB and submits divided by `per` (images or 1 step), and peak MB. */
function countRows(name: string, per: number, unit: string, key: string, graft: CountsByKey, peers: Record<string, CountsByKey>): BenchRow[] {
  const c = graft[key];
  if (!c) return [];
  const peer = (f: (x: WorkCounts & MemoryCounts) => number) =>
    Object.fromEntries(Object.entries(peers).flatMap(([p, byKey]) => (byKey[key] ? [[p, f(byKey[key]!)]] : [])));
  const fields: [string, BenchRow['metric'], (x: WorkCounts & MemoryCounts) => number][] = [
    [`dispatches per ${unit}`, 'dispatches', (x) => x.dispatches / per],
    [`kernel bytes read+written per ${unit} (bound storage buffers)`, 'MB', (x) => x.kernelBytes / per / 1e6],
    [`submits per ${unit}`, 'submits', (x) => x.submits / per],
    ['peak GPU memory', 'MB', (x) => x.peakBytes / 1e6],
  ];
  return fields.map(([what, metric, f]) => ({ name: `${name}: ${what}`, metric, graft: f(c), peers: peer(f) }));
}

function rows(plan: Plan, graft: GraftResult, peers: Record<string, Figures>, missing: Missing, peerCounts: Record<string, CountsByKey>, peaks: Record<string, Peak>): BenchRow[] {
  const peerFig = (key: string, f: (ms: number) => number) =>
    Object.fromEntries(Object.entries(peers).flatMap(([p, fig]) => (fig[key] === undefined ? [] : [[p, f(fig[key]!)]])));
  const out: BenchRow[] = [];
  if (plan.peak && graft.peak) {
    const { batch, size } = plan.peak;
    const secs = (p: Peak) => `${(p.firstMs / 1000).toFixed(1)} s / ${(p.ms / 1000).toFixed(1)} s`;
    out.push({
      name: `efficientnet-b0 peak GPU memory, all-trainable train step batch ${batch} (${size}x${size})`,
      metric: 'MB',
      graft: graft.peak.peak.mb,
      peers: Object.fromEntries(Object.entries(peaks).map(([p, v]) => [p, v.mb])),
      note: [`second step of a fresh engine, counted; ${graft.peak.trainable.toLocaleString('en-US')} trainable`,
        `first / counted step: graft ${secs(graft.peak.peak)}`, ...Object.entries(peaks).map(([p, v]) => `${p} ${secs(v)}`)].join('; '),
    });
  }
  const res = `${plan.size}x${plan.size}`;
  for (const b of plan.inferBatches) {
    const k = inferKey(b);
    const ms = graft.figures[k]!;
    const name = `efficientnet-b0 inference batch ${b} (${res})`;
    out.push({ name, metric: 'ms', graft: ms, peers: peerFig(k, (v) => v), note: graft.notes[k] });
    out.push({ name, metric: 'images/s', graft: (1000 * b) / ms, peers: peerFig(k, (v) => (1000 * b) / v) });
    out.push(...countRows(name, b, 'image', k, graft.counts, peerCounts));
  }
  for (const batch of plan.trainBatches) {
    for (const c of CASES.filter((c) => plan.cases.includes(c.key))) {
      const k = trainKey(c.key, batch);
      const ms = graft.figures[k]!;
      const name = `efficientnet-b0 train step batch ${batch} (${res}), ${c.label}`;
      out.push({
        name, metric: 'ms', graft: ms, peers: peerFig(k, (v) => v),
        note: [`${((1000 * batch) / ms).toFixed(2)} images/s`, graft.notes[k], ...(missing.get(k) ?? [])].join('; '),
      });
      out.push(...countRows(name, 1, 'step', k, graft.counts, peerCounts));
    }
  }
  return out;
}

const PEERS = ['tfjs-webgpu', 'tfjs-wasm', 'ort-webgpu', 'ort-cpu'] as const;

/** Sizes, batches, cases and peers from --quick and the --name=value options. */
function planFor(ctx: BenchContext): Plan & { peers: string[] } {
  // NOTE: --quick alone is the smoke test: batch-1 inference at 64x64, every peer, validation included.
  const size = intList(ctx, 'size', [ctx.quick ? 64 : 224])[0]!;
  const trainBatches = intList(ctx, 'train-batches', ctx.quick ? [] : [8]);
  // NOTE: 96 px keeps tfjs-webgpu's all-trainable batch-32 step to about a minute on lavapipe (224 px would take ~5).
  const peakBatch = intList(ctx, 'peak-batch', ctx.quick ? [] : [32])[0];
  const cases = (ctx.options['train-cases'] ?? CASES.map((c) => c.key).join(',')).split(',');
  for (const c of cases) if (!CASES.some((k) => k.key === c)) throw new Error(`--train-cases: unknown case '${c}' (known: ${CASES.map((k) => k.key).join(', ')})`);
  const peers = (ctx.options['peers'] ?? PEERS.join(',')).split(',').filter((p) => p !== '' && p !== 'none');
  for (const p of peers) if (!(PEERS as readonly string[]).includes(p)) throw new Error(`--peers: unknown peer '${p}' (known: ${PEERS.join(', ')}, none)`);
  return {
    size,
    inferBatches: intList(ctx, 'infer-batches', ctx.quick ? [1] : [1, 8]),
    train: trainBatches.length > 0,
    trainBatches,
    cases: cases as CaseKey[],
    iters: 2,
    peers,
    peak: peakBatch === undefined ? null : { batch: peakBatch, size: intList(ctx, 'peak-size', [96])[0]! },
  };
}

const suite: Suite = async (ctx) => {
  const plan = planFor(ctx);
  const graft: GraftResult = {
    figures: {}, notes: {}, counts: {}, inferParams: 0, trainable: { frozen: 0, last10: 0, all: 0 }, lastTen: [],
    baseWeights: new Map(), probe: { x: pixels(1, plan.size, 31), features: new Float32Array() },
  };
  // NOTE: the peak-memory step runs first, on an empty pool (the peer runs its twin first too).
  if (plan.peak) graft.peak = (await graftPeak(ctx, plan.peak)) ?? undefined;
  await graftInference(ctx, plan, graft);
  // NOTE: the training base also provides the weights and features that check the tfjs architecture (quick mode too, untimed).
  await graftTraining(ctx, plan, graft);
  g.getDevice().pool.trim();

  const peers: Record<string, Figures> = {};
  const peerCounts: Record<string, CountsByKey> = {};
  const missing: Missing = new Map();
  const peaks: Record<string, Peak> = {};
  for (const backend of ['webgpu', 'wasm'] as const) {
    if (!plan.peers.includes(`tfjs-${backend}`)) continue;
    peerCounts[`tfjs-${backend}`] = {};
    peers[`tfjs-${backend}`] = await tfjsPeer(ctx, backend, plan, graft, missing, peerCounts[`tfjs-${backend}`]!, peaks);
  }
  const eps = (['webgpu', 'cpu'] as const).filter((ep) => plan.peers.includes(`ort-${ep}`));
  if (eps.length > 0) Object.assign(peers, await ortPeers(fixturePath(plan.size), [...eps], (p) => ortInference(p, plan, ctx.log), ctx.log));
  return rows(plan, graft, peers, missing, peerCounts, peaks);
};

export default suite;
