// Elementwise and reduce bandwidth (GB/s), dispatch overhead and first-call time, with tfjs-webgpu as peer.

import { add, randomUniform, relu, sum, Tensor } from '../src/index.js';
import { timeAsync, type BenchContext, type BenchRow, type Suite } from './harness.js';
import { tfjsPeers, tfjsSync, type Tf } from './peers/tfjs.js';

type TfTensor = ReturnType<Tf['tensor']>;

/** One bandwidth case: a Graft op, the same op in tfjs, and the float64 value of any output element. */
interface Case {
  name: string;
  /** Bytes read and written by one call. */
  bytes: number;
  graft: (x: Tensor, y: Tensor) => Tensor;
  tfjs: (tf: Tf, x: TfTensor, y: TfTensor) => TfTensor;
  /** Expected output element `i` from the input values. */
  expected: (i: number) => number;
  /** Shapes of the two inputs (the second may be unused). */
  shapes: [number[], number[]];
}

function cases(n: number, xv: Float32Array, yv: Float32Array): Case[] {
  const cols = 1024;
  const rows = n / cols;
  return [
    { name: `unary relu [${n}]`, bytes: 8 * n, shapes: [[n], [n]], graft: (x) => relu(x), tfjs: (tf, x) => tf.relu(x), expected: (i) => Math.max(0, xv[i]!) },
    {
      name: `binary add [${n}] + [${n}]`, bytes: 12 * n, shapes: [[n], [n]],
      graft: (x, y) => add(x, y), tfjs: (tf, x, y) => tf.add(x, y), expected: (i) => xv[i]! + yv[i]!,
    },
    {
      name: `binary add broadcast [${rows},${cols}] + [${cols}]`, bytes: 8 * n + 4 * cols, shapes: [[rows, cols], [cols]],
      graft: (x, y) => add(x, y), tfjs: (tf, x, y) => tf.add(x, y), expected: (i) => xv[i]! + yv[i % cols]!,
    },
    {
      name: `reduce sum last axis [${rows},${cols}]`, bytes: 4 * n + 4 * rows, shapes: [[rows, cols], [1]],
      graft: (x) => sum(x, -1), tfjs: (tf, x) => tf.sum(x, -1),
      expected: (i) => { let s = 0; for (let j = 0; j < cols; j++) s += xv[i * cols + j]!; return s; },
    },
    {
      name: `reduce sum first axis [${cols},${rows}]`, bytes: 4 * n + 4 * rows, shapes: [[cols, rows], [1]],
      graft: (x) => sum(x, 0), tfjs: (tf, x) => tf.sum(x, 0),
      expected: (j) => { let s = 0; for (let i = 0; i < cols; i++) s += xv[i * rows + j]!; return s; },
    },
  ];
}

/** Compares 32 sampled output elements with the float64 expectation (sums get a tolerance scaled by their length). */
function checkSamples(out: ArrayLike<number>, c: Case, who: string): void {
  for (let t = 0; t < 32; t++) {
    const i = Math.floor((t / 32) * out.length + (t % 7));
    const idx = Math.min(i, out.length - 1);
    const want = c.expected(idx);
    const got = out[idx]!;
    if (!(Math.abs(got - want) <= 1e-4 + 1e-5 * Math.abs(want) + (c.name.startsWith('reduce') ? 1e-3 : 0))) {
      throw new Error(`${who} ${c.name}: element ${idx} = ${got}, expected ${want}`);
    }
  }
}

async function bandwidthRows(ctx: BenchContext, n: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const xs = randomUniform([n], -1, 1, { seed: 21 });
  const ys = randomUniform([n], -1, 1, { seed: 22 });
  const xv = (await xs.data()) as Float32Array;
  const yv = (await ys.data()) as Float32Array;
  const iters = ctx.quick ? 3 : 7;
  const inner = n <= 1 << 20 ? 10 : 2;
  for (const c of cases(n, xv, yv)) {
    const [sx, sy] = c.shapes;
    // NOTE: free views of the same random buffers in each case's shapes.
    const x = new Tensor(xs.device, sx, 'float32', xs);
    const y = new Tensor(ys.device, sy, 'float32', ys);
    const out = c.graft(x, y);
    checkSamples(await out.data(), c, 'graft');
    out.dispose();
    const t = await timeAsync(() => c.graft(x, y).dispose(), () => ctx.device.sync(), { iters, inner });
    const peers = await tfjsPeers(
      ['webgpu'],
      async (tf) => {
        const tx = tf.tensor(xv.subarray(0, sx.reduce((p, d) => p * d, 1)), sx);
        const ty = tf.tensor(yv.subarray(0, sy.reduce((p, d) => p * d, 1)), sy);
        const to = c.tfjs(tf, tx, ty);
        checkSamples(await to.data(), c, 'tfjs');
        to.dispose();
        const tt = await timeAsync(() => c.tfjs(tf, tx, ty).dispose(), () => tfjsSync(tf), { iters, inner });
        tx.dispose();
        ty.dispose();
        return c.bytes / tt.ms / 1e6;
      },
      ctx.log,
    );
    rows.push({
      name: c.name,
      metric: 'GB/s',
      graft: c.bytes / t.ms / 1e6,
      peers,
      note: `${t.ms.toFixed(2)} ms/call, first call ${t.firstMs.toFixed(0)} ms`,
    });
    x.dispose();
    y.dispose();
  }
  xs.dispose();
  ys.dispose();
  return rows;
}

/** Milliseconds per dispatch of a 4-element relu: recorded in batches of `batch` then synced, or synced after each. */
async function dispatchRows(ctx: BenchContext): Promise<BenchRow[]> {
  const batch = ctx.quick ? 100 : 500;
  const x = randomUniform([4], -1, 1, { seed: 23 });
  const rows: BenchRow[] = [];
  for (const mode of ['batched', 'sync each'] as const) {
    const inner = mode === 'batched' ? batch : 1;
    const iters = mode === 'batched' ? 5 : ctx.quick ? 20 : 100;
    const t = await timeAsync(() => relu(x).dispose(), () => ctx.device.sync(), { iters, inner });
    const peers = await tfjsPeers(
      ['webgpu'],
      async (tf) => {
        const tx = tf.tensor(await x.data(), [4]);
        const tt = await timeAsync(() => tf.relu(tx).dispose(), () => tfjsSync(tf), { iters, inner });
        tx.dispose();
        return tt.ms;
      },
      ctx.log,
    );
    rows.push({
      name: `dispatch overhead, tiny relu, ${mode === 'batched' ? `${batch} per sync` : 'sync after each'}`,
      metric: 'ms',
      graft: t.ms,
      peers,
      note: mode === 'batched' ? `${Math.round(1 / t.ms)} dispatches/ms` : 'includes a queue round trip per call',
    });
  }
  x.dispose();
  return rows;
}

const elementwiseSuite: Suite = async (ctx) => {
  const rows: BenchRow[] = [];
  for (const n of ctx.quick ? [1 << 20] : [1 << 20, 1 << 24]) rows.push(...(await bandwidthRows(ctx, n)));
  rows.push(...(await dispatchRows(ctx)));
  return rows;
};

export default elementwiseSuite;
