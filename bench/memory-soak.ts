// GPU memory over many training steps of EfficientNet-B0 (fresh weights, 32x32 input, batch 2, the Keras guide's
// model with the base's last 10 layers unfrozen, Adam): memory() and the buffer pool's bytes at chosen steps.
// Memory held must stay flat: after the first steps have filled the pool, nothing may grow with the step count.
//
//   npx tsx bench/memory-soak.ts [--steps 1000] [--size 32] [--batch 2] [--json out.json]

import { writeFileSync } from 'node:fs';
import * as g from '../src/index.js';
import { efficientNetB0 } from '../src/applications/index.js';
import { Callback } from '../src/train/index.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const STEPS = flag('steps', 1000);
const SIZE = flag('size', 32);
const BATCH = flag('batch', 2);
const CLASSES = 10;
const REPORT_AT = new Set([1, 10, 100, 1000, STEPS]);

interface Row {
  step: number;
  bytesLive: number;
  tensorsLive: number;
  poolInUse: number;
  poolFree: number;
  poolFreeBuffers: number;
}

/** Records memory after the steps in REPORT_AT (fit's batch-end hook runs after the step's work is recorded). */
class MemoryProbe extends Callback {
  readonly rows: Row[] = [];
  private step = 0;
  override async onBatchEnd(): Promise<void> {
    this.step++;
    if (!REPORT_AT.has(this.step)) return;
    const m = g.memory();
    const p = g.getDevice().pool.stats();
    this.rows.push({ step: this.step, bytesLive: m.bytesLive, tensorsLive: m.tensorsLive, poolInUse: p.bytesInUse, poolFree: p.bytesPooled, poolFreeBuffers: p.buffersPooled });
  }
}

async function main(): Promise<void> {
  await g.init();
  g.setSeed(7);
  const base = efficientNetB0({ includeTop: false, inputShape: [SIZE, SIZE, 3] });
  const inp = g.input({ shape: [SIZE, SIZE, 3] });
  const h = g.layers.globalAveragePooling2d().apply(base.apply(inp, { training: false }));
  const model = g.model({ inputs: inp, outputs: g.layers.dense({ units: CLASSES, activation: 'softmax' }).apply(h) });
  base.trainable = true;
  for (const l of base.layers.slice(0, -10)) l.trainable = false;
  model.compile({ optimizer: g.optimizers.adam({ learningRate: 1e-4 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const x = g.randomUniform([BATCH, SIZE, SIZE, 3], 0, 255, { seed: 3 });
  const y = g.tensor(Array.from({ length: BATCH * CLASSES }, (_, i) => (i % CLASSES === (Math.floor(i / CLASSES) * 3) % CLASSES ? 1 : 0)), [BATCH, CLASSES]);
  const probe = new MemoryProbe();
  const t0 = performance.now();
  // NOTE: one batch per epoch, so the run is STEPS optimizer steps with fit's whole per-step path.
  await model.fit(x, y, { epochs: STEPS, batchSize: BATCH, shuffle: false, verbose: 0, callbacks: [probe] });
  const seconds = (performance.now() - t0) / 1000;
  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  console.log(`EfficientNet-B0 ${SIZE}x${SIZE}, batch ${BATCH}, last 10 base layers unfrozen, Adam: ${STEPS} steps in ${seconds.toFixed(0)} s`);
  console.log('step  live MiB  live tensors  pool in use MiB  pool free MiB  free buffers');
  for (const r of probe.rows) {
    console.log(`${String(r.step).padStart(4)}  ${mib(r.bytesLive).padStart(8)}  ${String(r.tensorsLive).padStart(12)}  ${mib(r.poolInUse).padStart(15)}  ${mib(r.poolFree).padStart(13)}  ${String(r.poolFreeBuffers).padStart(12)}`);
  }
  const jsonAt = process.argv.indexOf('--json');
  if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify({ steps: STEPS, size: SIZE, batch: BATCH, seconds, rows: probe.rows }, null, 2));
  model.dispose();
}

await main();
