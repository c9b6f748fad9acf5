// Device-loss recovery in fit, measured: what the host copy costs per backup (bytes, ms) and how long fit takes to
// come back after a loss (new device, weights and Adam slots re-created, backup restored, pipelines rebuilt), on
// EfficientNet-B0 (fresh weights, 32x32, batch 2, last 10 base layers unfrozen, Adam). Validates first: the run with
// a loss must end with the weights of the run without one.
//
//   npx tsx bench/device-loss.ts [--steps 3] [--epochs 2] [--size 32] [--batch 2]

import * as g from '../src/node/index.js';
import { efficientNetB0 } from '../src/applications/index.js';
import { Dataset, type DatasetSource } from '../src/data/index.js';
import type { Batch, Model } from '../src/train/index.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const STEPS = flag('steps', 3);
const EPOCHS = flag('epochs', 2);
const SIZE = flag('size', 32);
const BATCH = flag('batch', 2);
const CLASSES = 10;

function build(): Model {
  g.setSeed(7);
  const base = efficientNetB0({ includeTop: false, inputShape: [SIZE, SIZE, 3] });
  const inp = g.input({ shape: [SIZE, SIZE, 3] });
  const h = g.layers.globalAveragePooling2d().apply(base.apply(inp, { training: false }));
  const m = g.model({ inputs: inp, outputs: g.layers.dense({ units: CLASSES, activation: 'softmax' }).apply(h) });
  base.trainable = true;
  for (const l of base.layers.slice(0, -10)) l.trainable = false;
  m.compile({ optimizer: g.optimizers.adam({ learningRate: 1e-4 }), loss: 'categoricalCrossentropy' });
  return m;
}

/** STEPS batches per epoch, made on the current device from a seeded stream. */
function dataset(): Dataset<Batch> {
  const source: DatasetSource<Batch> = {
    length: STEPS, classNames: [], filePaths: [], epoch: 0,
    async *iterate() {
      const e = source.epoch++;
      for (let s = 0; s < STEPS; s++) {
        const x = g.randomUniform([BATCH, SIZE, SIZE, 3], 0, 255, { seed: 1 + e * 100 + s });
        yield { x, y: g.oneHot(g.tensor(Array.from({ length: BATCH }, (_, i) => (i + s + e) % CLASSES), [BATCH], { dtype: 'int32' }), CLASSES) };
      }
    },
    cached: () => source,
  };
  return new Dataset<Batch>(source);
}

/** Batch-end times; with `lossAt`, loses the device at that global batch (1-based) once. */
function clock(lossAt: number | null) {
  const ends: number[] = [];
  let lostAt = 0;
  let n = 0;
  return {
    ends, lost: () => lostAt,
    hooks: {
      onBatchEnd: () => {
        ends.push(performance.now());
        if (++n === lossAt) (lostAt = performance.now(), g.getDevice().loseForTest('bench'));
      },
    },
  };
}

async function run(store: ReturnType<typeof g.callbacks.memoryBackupStore> | null, lossAt: number | null) {
  const m = build();
  const c = clock(lossAt);
  const cbs = store ? [g.callbacks.backupAndRestore({ store, saveFreq: 1, deleteCheckpoint: false }), c.hooks] : [c.hooks];
  const t0 = performance.now();
  await m.fit(dataset(), { epochs: EPOCHS, verbose: 0, recoverDeviceLoss: store !== null, callbacks: cbs });
  const seconds = (performance.now() - t0) / 1000;
  const w = await Promise.all([...m.namedWeights().values()].map((v) => v.read()));
  m.dispose();
  return { seconds, ends: c.ends, lost: c.lost(), weights: w };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const gaps = (ends: number[]) => ends.slice(1).map((t, i) => t - ends[i]!);

async function main(): Promise<void> {
  await g.init();
  const plain = await run(null, null);
  const store = g.callbacks.memoryBackupStore();
  const copied = await run(store, null);
  const bytes = (await store.load())?.byteLength ?? 0;
  const lossAt = STEPS + 1;
  const lost = await run(g.callbacks.memoryBackupStore(), lossAt);
  let maxDiff = 0;
  lost.weights.forEach((w, i) => w.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - copied.weights[i]![j]!)))));
  console.log(`EfficientNet-B0 ${SIZE}x${SIZE}, batch ${BATCH}, Adam, ${EPOCHS} epochs x ${STEPS} steps; lavapipe or whatever adapter init() found`);
  console.log(`validation: max |w(loss at batch ${lossAt}) - w(no loss)| = ${maxDiff}`);
  console.log(`fit without recovery: ${plain.seconds.toFixed(1)} s, median step ${median(gaps(plain.ends)).toFixed(0)} ms`);
  console.log(`fit with a host copy after every step: ${copied.seconds.toFixed(1)} s, median step ${median(gaps(copied.ends)).toFixed(0)} ms; host copy ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  // NOTE: the backup after the lost batch was taken before the loss (callback order), so nothing is replayed: loss -> next batch end = recovery + one step.
  const back = lost.ends[lossAt]! - lost.lost;
  console.log(`fit with a loss after batch ${lossAt}: ${lost.seconds.toFixed(1)} s; loss -> next batch end ${back.toFixed(0)} ms (recovery + one step of ${median(gaps(copied.ends)).toFixed(0)} ms)`);
}

await main();
