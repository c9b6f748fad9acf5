// Batch normalization and pooling throughput (GB/s of the minimum traffic), with TensorFlow.js webgpu as the peer.
// Every Graft result is validated against the float64 oracle (and the peer against Graft) before timing.

import * as g from '../src/index.js';
import { capsOf, forceVariant } from '../src/gpu/variants.js';
import { BATCHNORM_VARIANTS, batchNormVariant, batchNormVariantUnsupported } from '../src/ops/batchnorm-reduce.js';
import { POOL_VARIANTS, poolVariant, poolVariantUnsupported } from '../src/ops/pool-reduce.js';
import { poolGeometry } from '../src/ops/pool.js';
import { tiledPoolUnsupported } from '../src/ops/pool-tiled.js';
import { channelMomentsRef, normalizeRef } from '../src/reference/batchnorm.js';
import { globalAvgPoolRef, maxPool2dRef } from '../src/reference/pool.js';
import { ref } from '../src/reference/index.js';
import { timeAsync, type BenchContext, type BenchRow, type Suite } from './harness.js';
import { loadTfjs, tfjsSync, type Tf } from './peers/tfjs.js';

/** TensorFlow.js 4.22 on its webgpu backend, with a way to wait for its GPU work. */
interface TfPeer {
  tf: Tf;
  sync: () => Promise<void>;
}

/** The shared tfjs-webgpu loader, plus the gradients that the forward+backward row needs. */
async function loadPeer(log: (m: string) => void): Promise<TfPeer | null> {
  try {
    const tf = await loadTfjs('webgpu');
    // NOTE: tfjs-core's Node bundle registers no gradients; tfjs-layers' bundle registers them in the shared registry.
    await import('@tensorflow/tfjs-layers');
    return { tf, sync: () => tfjsSync(tf) };
  } catch (e) {
    log(`tfjs-webgpu unavailable: ${(e as Error).message}`);
    return null;
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function check(what: string, diff: number, tol: number): void {
  if (!(diff <= tol)) throw new Error(`norm-pool: ${what} failed validation (max |diff| ${diff} > ${tol})`);
}

const sizeOf = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
const gbps = (bytes: number, ms: number) => bytes / ms / 1e6;

type TfTensor = import('@tensorflow/tfjs-core').Tensor;

interface Case {
  name: string;
  /** Minimum bytes moved per call. */
  bytes: number;
  /** One Graft call; a returned tensor is compared with the peer's before timing. */
  graft: () => g.Tensor | void;
  peer?: (() => TfTensor | void) | undefined;
}

/** Max |graft - peer| relative to the largest magnitude, or null when a side returns no tensor. */
async function peerDiff(peer: TfPeer, c: Case): Promise<number | null> {
  const mine = g.tidy(c.graft);
  const theirs = peer.tf.tidy(() => c.peer!());
  if (!mine || !theirs) {
    mine?.dispose();
    theirs?.dispose();
    return null;
  }
  const a = await mine.data();
  const b = await theirs.data();
  mine.dispose();
  theirs.dispose();
  let scale = 1;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
  return maxAbsDiff(a, b) / scale;
}

async function measure(ctx: BenchContext, peer: TfPeer | null, c: Case): Promise<BenchRow> {
  const opts = ctx.quick ? { warmup: 1, iters: 3 } : { warmup: 2, iters: 7 };
  const t = await timeAsync(() => g.tidy(() => { c.graft(); }), () => ctx.device.sync(), opts);
  const row: BenchRow = { name: c.name, metric: 'GB/s', graft: gbps(c.bytes, t.ms), peers: {}, note: `${t.ms.toFixed(2)} ms (first ${t.firstMs.toFixed(0)} ms)` };
  if (peer && c.peer) {
    try {
      const diff = await peerDiff(peer, c);
      if (diff !== null && diff > 1e-3) throw new Error(`its result differs from Graft's by ${diff.toExponential(2)} (relative)`);
      const p = await timeAsync(() => peer.tf.tidy(() => { c.peer!(); }), peer.sync, opts);
      row.peers['tfjs-webgpu'] = gbps(c.bytes, p.ms);
    } catch (e) {
      ctx.log(`${c.name}: tfjs left out: ${(e as Error).message}`);
    }
  }
  ctx.log(`${c.name}: ${row.graft.toFixed(2)} GB/s`);
  return row;
}

const EPS = 1e-3;

/** `fn` with `family` forced to `variant` for the call (per-variant rows); `null` leaves the choice alone. */
function forced<T>(family: string, variant: string | null, fn: () => T): () => T {
  return () => {
    if (variant === null) return fn();
    const restore = forceVariant(family, variant);
    try {
      return fn();
    } finally {
      restore();
    }
  };
}

const suite: Suite = async (ctx) => {
  const peer = await loadPeer(ctx.log);
  const tf = peer?.tf;
  const q = ctx.quick;
  const rows: BenchRow[] = [];

  // ---- batch normalization over 8x112x112x96 ----
  const bnShape = q ? [2, 56, 56, 96] : [8, 112, 112, 96];
  const c = bnShape[3]!;
  const n = sizeOf(bnShape);
  const x = g.randomNormal(bnShape, 3, 2, { seed: 1 }).requireGrad();
  const gamma = g.randomUniform([c], 0.5, 1.5, { seed: 2 }).requireGrad();
  const beta = g.randomUniform([c], -1, 1, { seed: 3 }).requireGrad();
  const dy = g.randomNormal(bnShape, 0, 1, { seed: 4 });
  const xs = await x.data();
  const gs = await gamma.data();
  const bs = await beta.data();
  {
    const out = g.noGrad(() => g.batchNormTrain(x, gamma, beta, EPS));
    const mom = channelMomentsRef(ref(xs, bnShape));
    check('batchNormTrain mean', maxAbsDiff(await out.mean.data(), mom.mean.data), 1e-4);
    check('batchNormTrain variance', maxAbsDiff(await out.variance.data(), mom.variance.data), 1e-3);
    const yRef = normalizeRef(ref(xs, bnShape), mom.mean, mom.variance, ref(gs, [c]), ref(bs, [c]), EPS);
    check('batchNormTrain y', maxAbsDiff(await out.y.data(), yRef.data), 1e-3);
    out.y.dispose();
    out.mean.dispose();
    out.variance.dispose();
  }
  const tx = tf?.tensor(xs, bnShape);
  const tgamma = tf?.tensor(gs, [c]);
  const tbeta = tf?.tensor(bs, [c]);
  const tdy = tf ? tf.tensor(await dy.data(), bnShape) : undefined;
  const tfTrain = tf && ((a: TfTensor, ga: TfTensor, be: TfTensor) => {
    const m = tf.moments(a, [0, 1, 2]);
    return tf.batchNorm(a, m.mean, m.variance, be, ga, EPS);
  });
  const measurePeak = () => measure(ctx, null, { name: 'peak (relu)', bytes: 2 * n * 4, graft: () => g.noGrad(() => g.relu(x)) });
  const peakBefore = (await measurePeak()).graft;
  const shape = bnShape.join('x');
  // NOTE: one row per runnable reduction variant, the one that runs unforced first (with the peer); rows name it.
  const bnChosen = batchNormVariant(ctx.device, n / c, c);
  const bnVariants = [bnChosen, ...BATCHNORM_VARIANTS.filter((v) => v !== bnChosen && batchNormVariantUnsupported(capsOf(ctx.device), v) === null)];
  for (const v of bnVariants) {
    const force = v === bnChosen ? null : v;
    {
      const out = g.noGrad(forced('batchnorm', force, () => g.batchNormTrain(x, gamma, beta, EPS)));
      const mom = channelMomentsRef(ref(xs, bnShape));
      check(`batchNormTrain [${v}] mean`, maxAbsDiff(await out.mean.data(), mom.mean.data), 1e-4);
      check(`batchNormTrain [${v}] variance`, maxAbsDiff(await out.variance.data(), mom.variance.data), 1e-3);
      for (const t of [out.y, out.mean, out.variance]) t.dispose();
    }
    rows.push(await measure(ctx, force ? null : peer, {
      name: `batchnorm train forward ${shape} [${v}]`,
      bytes: 3 * n * 4,
      graft: forced('batchnorm', force, () => g.noGrad(() => g.batchNormTrain(x, gamma, beta, EPS).y)),
      peer: tfTrain && (() => tfTrain(tx!, tgamma!, tbeta!)),
    }));
    rows.push(await measure(ctx, force ? null : peer, {
      name: `batchnorm train forward+backward ${shape} [${v}]`,
      // NOTE: forward 3n, backward 5n: (dy, x) for the channel sums, (dy, x) read and dx written for the input gradient.
      bytes: 8 * n * 4,
      graft: forced('batchnorm', force, () => {
        g.batchNormTrain(x, gamma, beta, EPS).y.backward(dy);
        g.zeroGrad([x, gamma, beta]);
      }),
      peer: tf && tfTrain && (() => {
        tf.grads((a, ga, be) => tfTrain(a!, ga!, be!))([tx!, tgamma!, tbeta!], tdy);
      }),
    }));
  }
  // NOTE: BN + activation in training (batch statistics): fused (the activation in bn_apply, recomputed in the
  // backward) against batchNormTrain then silu; the same minimum bytes (8n), so the GB/s ratio is the speedup.
  const bnSilu = (act: 'silu' | undefined) => () => {
    const y = g.batchNormTrain(x, gamma, beta, EPS, act).y;
    (act ? y : g.silu(y)).backward(dy);
    g.zeroGrad([x, gamma, beta]);
  };
  rows.push(await measure(ctx, peer, {
    name: `batchnorm train + silu forward+backward ${shape}, fused`,
    bytes: 8 * n * 4,
    graft: bnSilu('silu'),
    peer: tf && tfTrain && (() => {
      tf.grads((a, ga, be) => {
        const z = tfTrain(a!, ga!, be!);
        return tf.mul(z, tf.sigmoid(z));
      })([tx!, tgamma!, tbeta!], tdy);
    }),
  }));
  rows.push(await measure(ctx, null, { name: `batchnorm train + silu forward+backward ${shape}, unfused`, bytes: 8 * n * 4, graft: bnSilu(undefined) }));
  const mm = g.randomUniform([c], -0.5, 0.5, { seed: 5 });
  const mv = g.randomUniform([c], 0.5, 2, { seed: 6 });
  const folded = g.noGrad(() => g.foldBatchNorm(mm, mv, gamma, beta, EPS));
  {
    const y = g.noGrad(() => g.batchNormInference(x, mm, mv, gamma, beta, EPS));
    const y2 = g.noGrad(() => g.scaleShift(x, folded.scale, folded.shift));
    const yRef = normalizeRef(ref(xs, bnShape), ref(await mm.data(), [c]), ref(await mv.data(), [c]), ref(gs, [c]), ref(bs, [c]), EPS);
    check('batchNormInference', maxAbsDiff(await y.data(), yRef.data), 1e-4);
    check('scaleShift', maxAbsDiff(await y2.data(), yRef.data), 1e-4);
    y.dispose();
    y2.dispose();
  }
  const tmm = tf?.tensor(await mm.data(), [c]);
  const tmv = tf?.tensor(await mv.data(), [c]);
  rows.push(await measure(ctx, peer, {
    name: `batchnorm inference ${shape}`,
    bytes: 2 * n * 4,
    graft: () => g.noGrad(() => g.batchNormInference(x, mm, mv, gamma, beta, EPS)),
    peer: tf && (() => tf.batchNorm(tx!, tmm!, tmv!, tbeta, tgamma, EPS)),
  }));
  rows.push(await measure(ctx, peer, {
    name: `scaleShift + silu ${shape}`,
    bytes: 2 * n * 4,
    graft: () => g.noGrad(() => g.scaleShift(x, folded.scale, folded.shift, 'silu')),
  }));

  // ---- global average pooling ----
  for (const s of q ? [[2, 7, 7, 1280], [2, 56, 56, 96]] : [[8, 7, 7, 1280], [8, 112, 112, 96]]) {
    const gx = g.randomNormal(s, 0, 1, { seed: 7 });
    const gxs = await gx.data();
    const y = g.globalAvgPool(gx);
    check(`globalAvgPool ${s}`, maxAbsDiff(await y.data(), globalAvgPoolRef(ref(gxs, s)).data), 1e-5);
    y.dispose();
    const tgx = tf?.tensor(gxs, s);
    const chosen = poolVariant(ctx.device, s[0]!, s[1]! * s[2]!, s[3]!);
    const variants = [chosen, ...POOL_VARIANTS.filter((v) => v !== chosen && poolVariantUnsupported(capsOf(ctx.device), v) === null)];
    for (const v of variants) {
      const force = v === chosen ? null : v;
      const yv = forced('pool', force, () => g.globalAvgPool(gx))();
      check(`globalAvgPool ${s} [${v}]`, maxAbsDiff(await yv.data(), globalAvgPoolRef(ref(gxs, s)).data), 1e-5);
      yv.dispose();
      rows.push(await measure(ctx, force ? null : peer, {
        name: `global avg pool ${s.join('x')} [${v}]`,
        bytes: sizeOf(s) * 4,
        graft: forced('pool', force, () => g.globalAvgPool(gx)),
        peer: tf && (() => tf.mean(tgx!, [1, 2])),
      }));
    }
    gx.dispose();
    tgx?.dispose();
  }

  // ---- max pooling 3x3 / 2, 'same' ----
  const ps = q ? [2, 56, 56, 64] : [8, 112, 112, 64];
  const px = g.randomNormal(ps, 0, 1, { seed: 8 });
  const pxs = await px.data();
  const opts = { poolSize: 3, strides: 2, padding: 'same' } as const;
  {
    // NOTE: the float64 oracle walks windows one by one; one image is enough to validate the kernel.
    const one = [1, ...ps.slice(1)];
    const head = pxs.slice(0, sizeOf(one));
    const y = g.maxPool2d(g.tensor(head, one), opts);
    check('maxPool2d', maxAbsDiff(await y.data(), maxPool2dRef(ref(head, one), opts).data), 0);
  }
  const tpx = tf?.tensor4d(pxs, ps as [number, number, number, number]);
  const outSize = ps[0]! * Math.ceil(ps[1]! / 2) * Math.ceil(ps[2]! / 2) * ps[3]!;
  // NOTE: windowed pooling has a tiled form only under 'workgroup'; 'subgroup' runs the register kernels.
  const tiledOk = tiledPoolUnsupported(capsOf(ctx.device), poolGeometry('maxPool2d', ps, opts), ps[3]!) === null;
  for (const v of tiledOk ? ['register', 'workgroup'] : ['register']) {
    // NOTE: both rows forced, so that their names stay true with GRAFT_TUNE=on; the peer beside the register row.
    const force = v;
    const one = [1, ...ps.slice(1)];
    const head = pxs.slice(0, sizeOf(one));
    const y = forced('pool', force, () => g.maxPool2d(g.tensor(head, one), opts))();
    check(`maxPool2d [${v}]`, maxAbsDiff(await y.data(), maxPool2dRef(ref(head, one), opts).data), 0);
    y.dispose();
    rows.push(await measure(ctx, v === 'register' ? peer : null, {
      name: `max pool 3x3/2 same ${ps.join('x')} [${v}]`,
      bytes: (sizeOf(ps) + outSize) * 4,
      graft: forced('pool', force, () => g.noGrad(() => g.maxPool2d(px, opts))),
      peer: tf && (() => tf.maxPool(tpx!, 3, 2, 'same')),
    }));
  }
  // NOTE: the measured peak is an elementwise map (one read, one write) over the batch-norm tensor; the better of a
  // run before and one after the rows, since other work on the machine slows either.
  const peak = Math.max(peakBefore, (await measurePeak()).graft);
  for (const r of rows) r.note = `${r.note}; ${((100 * r.graft) / peak).toFixed(0)}% of relu's ${peak.toFixed(2)} GB/s`;
  return rows;
};

export default suite;
