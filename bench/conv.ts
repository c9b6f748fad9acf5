// conv2d and depthwise conv2d throughput (GFLOP/s), forward and backward (input, filter), EfficientNet-B0 layer
// shapes at batch 8 (224x224 input), with TensorFlow.js 4.22 webgpu on the same Dawn adapter as the peer.
// Validation before timing: forward outputs at sampled positions vs float64 sums over the host copies of the
// inputs; backward via the adjoint identities <dy, conv(x, f)> = <dx, x> = <df, f> in float64; the peer vs Graft.
// Rows name the conv2d variant that ran; `--variants=all` (or a list) adds a row per conv2d variant (forced) for the kxk layers,
// beside the peer's figure from the same run; `--batch=N` replaces the batch of 8.

import * as g from '../src/index.js';
import { convGeometry, type ConvGeometry } from '../src/ops/conv-geometry.js';
import { capsOf, withVariant } from '../src/gpu/variants.js';
import { CONV2D_VARIANTS, conv2dBackwardFilter, conv2dBackwardInput, conv2dVariant, type ConvStage } from '../src/ops/conv2d.js';
import { DEPTHWISE_VARIANTS, depthwiseBackwardFilter, depthwiseBackwardInput, depthwiseKernelKind, depthwiseVariant, type DepthwiseVariant } from '../src/ops/depthwise-conv2d.js';
import { matmulRaw } from '../src/ops/matmul.js';
import { intList, timeAsync, type BenchContext, type BenchRow, type Suite } from './harness.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

/** TensorFlow.js on its webgpu backend. */
interface TfPeer {
  tf: Tf;
}

// NOTE: the dawn root object must stay referenced while tfjs' device lives.
let tfGpuRoot: GPU | null = null;

/** Loads tfjs-core + tfjs-backend-webgpu on Dawn in Node (or the browser's navigator.gpu). */
async function loadTfjs(log: (m: string) => void): Promise<TfPeer | null> {
  try {
    const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
    if (!nav?.gpu) {
      const webgpu = (await import('webgpu')) as { create: (flags: string[]) => GPU; globals: object };
      Object.assign(globalThis, webgpu.globals);
      tfGpuRoot = webgpu.create([]);
      Object.defineProperty(globalThis, 'navigator', { value: { gpu: tfGpuRoot, userAgent: 'node' }, configurable: true, writable: true });
    }
    const tf = (await import('@tensorflow/tfjs-core')) as Tf;
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('setBackend("webgpu") returned false');
    return { tf };
  } catch (e) {
    log(`tfjs-webgpu unavailable: ${(e as Error).message}`);
    return null;
  }
}

interface Layer {
  name: string;
  kind: 'conv' | 'depthwise';
  x: [number, number, number, number];
  /** conv: [k, k, cin, cout]; depthwise: [k, k, c, 1]. */
  f: [number, number, number, number];
  stride: number;
}

const B = 8;
const layers: Layer[] = [
  { name: 'stem conv 3x3/2 3->32 @224', kind: 'conv', x: [B, 224, 224, 3], f: [3, 3, 3, 32], stride: 2 },
  { name: 'expand 1x1 16->96 @112', kind: 'conv', x: [B, 112, 112, 16], f: [1, 1, 16, 96], stride: 1 },
  { name: 'dw 3x3/2 @112x112x96', kind: 'depthwise', x: [B, 112, 112, 96], f: [3, 3, 96, 1], stride: 2 },
  { name: 'dw 5x5 @28x28x240 (peer figure)', kind: 'depthwise', x: [B, 28, 28, 240], f: [5, 5, 240, 1], stride: 1 },
  { name: 'se 1x1 480->20 @1', kind: 'conv', x: [B, 1, 1, 480], f: [1, 1, 480, 20], stride: 1 },
  { name: 'project 1x1 672->112 @14', kind: 'conv', x: [B, 14, 14, 672], f: [1, 1, 672, 112], stride: 1 },
  { name: 'dw 5x5 @7x7x1152', kind: 'depthwise', x: [B, 7, 7, 1152], f: [5, 5, 1152, 1], stride: 1 },
  { name: 'head 1x1 320->1280 @7', kind: 'conv', x: [B, 7, 7, 320], f: [1, 1, 320, 1280], stride: 1 },
  { name: 'conv 3x3 56x56x64->64 (peer figure)', kind: 'conv', x: [B, 56, 56, 64], f: [3, 3, 64, 64], stride: 1 },
  { name: 'dw 3x3 @112x112x32 (peer figure)', kind: 'depthwise', x: [B, 112, 112, 32], f: [3, 3, 32, 1], stride: 1 },
];
const quickLayers = ['se 1x1 480->20 @1', 'dw 5x5 @7x7x1152'];

const sizeOf = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

function flops(l: Layer, geo: ConvGeometry): number {
  const cout = l.kind === 'conv' ? l.f[3] : l.f[2] * l.f[3];
  const macsPerOut = l.kind === 'conv' ? l.f[0] * l.f[1] * l.f[2] : l.f[0] * l.f[1];
  return 2 * geo.n * geo.oh * geo.ow * cout * macsPerOut;
}

function randomHost(n: number, seed: number): Float32Array {
  const r = g.rng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r() * 2 - 1;
  return v;
}

/** Float64 value of one output element, straight from the definition. */
function outputAt(l: Layer, geo: ConvGeometry, x: Float32Array, f: Float32Array, i: number): [number, number] {
  const cout = l.kind === 'conv' ? l.f[3] : l.f[2] * l.f[3];
  const co = i % cout;
  const pix = Math.floor(i / cout);
  const ow = pix % geo.ow;
  const oh = Math.floor(pix / geo.ow) % geo.oh;
  const n = Math.floor(pix / (geo.ow * geo.oh));
  let s = 0;
  let mag = 0;
  for (let a = 0; a < geo.kh; a++) {
    const ih = oh * geo.sh + a * geo.dh - geo.padTop;
    if (ih < 0 || ih >= geo.h) continue;
    for (let b = 0; b < geo.kw; b++) {
      const iw = ow * geo.sw + b * geo.dw - geo.padLeft;
      if (iw < 0 || iw >= geo.w) continue;
      const xb = ((n * geo.h + ih) * geo.w + iw) * geo.c;
      if (l.kind === 'depthwise') {
        s += x[xb + co]! * f[(a * geo.kw + b) * cout + co]!;
        mag += Math.abs(x[xb + co]! * f[(a * geo.kw + b) * cout + co]!);
      } else {
        for (let c = 0; c < geo.c; c++) {
          const v = x[xb + c]! * f[((a * geo.kw + b) * geo.c + c) * cout + co]!;
          s += v;
          mag += Math.abs(v);
        }
      }
    }
  }
  return [s, mag];
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function absDot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! * b[i]!);
  return s;
}

function fail(what: string, detail: string): never {
  throw new Error(`conv bench: ${what} failed validation (${detail})`);
}

/**
 * Forward at 64 sampled outputs vs float64; backward through the adjoint identities. `rel`: the relative error per
 * product the kernels may make (f16 tiles round operands to 11 bits: 2^-9 with margin).
 */
async function validate(l: Layer, geo: ConvGeometry, host: Float32Array[], fwd: () => g.Tensor, bx: () => g.Tensor, bf: () => g.Tensor, rel = 0): Promise<void> {
  const [x, f, dy] = host as [Float32Array, Float32Array, Float32Array];
  const read = async (make: () => g.Tensor) => {
    const t = make();
    const v = await t.data();
    t.dispose();
    return v;
  };
  const y = await read(fwd);
  const r = g.rng(7);
  for (let k = 0; k < 64; k++) {
    const i = Math.floor(r() * y.length);
    const [want, mag] = outputAt(l, geo, x, f, i);
    if (!(Math.abs(y[i]! - want) <= 1e-3 + 1e-3 * Math.abs(want) + rel * mag)) fail(`${l.name} forward`, `y[${i}] = ${y[i]}, want ${want}`);
  }
  const lhs = dot(dy, y);
  const dx = await read(bx);
  const df = await read(bf);
  // NOTE: |y| ~ sqrt(K) times smaller than sum |x w| over K = kh*kw*cin products: the f16 term scales by sqrt(K).
  const scale = absDot(dy, y) * (1e-5 + 4 * rel * Math.sqrt(geo.kh * geo.kw * geo.c)) + 1e-6;
  if (!(Math.abs(dot(dx, x) - lhs) <= scale)) fail(`${l.name} backward input`, `<dx, x> = ${dot(dx, x)}, <dy, y> = ${lhs}`);
  if (!(Math.abs(dot(df, f) - lhs) <= scale)) fail(`${l.name} backward filter`, `<df, f> = ${dot(df, f)}, <dy, y> = ${lhs}`);
}

/**
 * Validates and times one layer's three stages; `variant` (a forced conv2d variant) tags the rows, and the peer's
 * figures are measured once per layer and stage (`peerMs`) and shared by the variant rows of that run.
 */
async function runLayer(ctx: BenchContext, peer: TfPeer | null, l: Layer, variant: string | null, peerMs: Map<string, number>): Promise<BenchRow[]> {
  const opts = { strides: l.stride, padding: 'same' as const };
  const geo = convGeometry(l.kind, l.x, l.f, opts);
  const cout = l.kind === 'conv' ? l.f[3] : l.f[2] * l.f[3];
  const yShape = [geo.n, geo.oh, geo.ow, cout];
  const host = [randomHost(sizeOf(l.x), 1), randomHost(sizeOf(l.f), 2), randomHost(sizeOf(yShape), 3)];
  const [x, f, dy] = [g.tensor(host[0]!, l.x), g.tensor(host[1]!, l.f), g.tensor(host[2]!, yShape)] as [g.Tensor, g.Tensor, g.Tensor];
  const conv = l.kind === 'conv';
  const fwd = () => (conv ? g.conv2d(x, f, opts) : g.depthwiseConv2d(x, f, opts));
  // NOTE: pointwise convolutions run as matmuls (forward and backward), so the bench times the same kernels.
  const pw = conv && l.f[0] === 1 && l.f[1] === 1 && l.stride === 1;
  const rows2 = (t: g.Tensor, c: number) => new g.Tensor(t.device, [t.size / c, c], 'float32', t);
  const viaMatmul = (a: g.Tensor, ca: number, b: g.Tensor, cb: number, o: g.MatmulOptions) => {
    const [a2, b2] = [rows2(a, ca), rows2(b, cb)];
    const out = matmulRaw(a2, b2, o);
    a2.dispose();
    b2.dispose();
    return out;
  };
  const bx = () =>
    pw ? viaMatmul(dy, cout, f, cout, { transposeB: true }) : conv ? conv2dBackwardInput(dy, f, geo) : depthwiseBackwardInput(dy, f, geo);
  const bf = () =>
    pw ? viaMatmul(x, geo.c, dy, cout, { transposeA: true }) : conv ? conv2dBackwardFilter(x, dy, f.shape, geo) : depthwiseBackwardFilter(x, dy, f.shape, geo);
  await validate(l, geo, host, fwd, bx, bf, variant === 'f16' ? 2 ** -9 : 0);
  const fl = flops(l, geo);
  // NOTE: small layers repeat inside one timed batch so that the ~1 ms queue round trip does not dominate.
  const inner = Math.max(1, Math.min(20, Math.round(2e7 / fl)));
  const timing = ctx.quick ? { warmup: 1, iters: 3, inner } : { warmup: 1, iters: 5, inner };
  const tfSetup = peer ? peerCase(peer, l, geo, host, yShape) : null;
  const rows: BenchRow[] = [];
  const stages: [string, () => g.Tensor, 'fwd' | 'bx' | 'bf', ConvStage][] = [
    ['forward', fwd, 'fwd', 'forward'],
    ['backward input', bx, 'bx', 'input'],
    ['backward filter', bf, 'bf', 'filter'],
  ];
  // NOTE: others share the cores: Graft and the peer alternate for a few rounds and each keeps its best median.
  const rounds = ctx.quick ? 1 : 3;
  for (const [stage, run, key, convStage] of stages) {
    let ms = Infinity;
    let firstMs = 0;
    const peerKey = `${l.name} ${stage}`;
    const timePeerHere = !peerMs.has(peerKey);
    let pms = peerMs.get(peerKey) ?? Infinity;
    for (let round = 0; round < rounds; round++) {
      const t = await timeAsync(() => g.tidy(() => void run()), () => ctx.device.sync(), timing);
      ms = Math.min(ms, t.ms);
      if (round === 0) firstMs = t.firstMs;
      if (peer && tfSetup && timePeerHere) {
        try {
          pms = Math.min(pms, await timePeer(() => tfSetup[key](), timing));
        } catch (e) {
          ctx.log(`tfjs ${l.name} ${stage}: ${(e as Error).message}`);
        }
      }
    }
    peerMs.set(peerKey, pms);
    // NOTE: the variant that ran: forced, or what conv2d picks (the tuner's choice with GRAFT_TUNE=on).
    const dwStage = convStage === 'forward' ? 'forward' : convStage === 'input' ? 'backward_input' : 'backward_filter';
    const dwVariant = (variant as DepthwiseVariant | null) ?? depthwiseVariant(ctx.device, dwStage, geo, l.f[3]);
    const ran = !conv
      ? `depthwise variant ${dwVariant} (${depthwiseKernelKind(dwVariant, dwStage, geo, l.f[3])} kernel)`
      : pw ? 'via matmul' : `variant ${variant ?? conv2dVariant(x, f, opts, convStage)}`;
    const row: BenchRow = {
      name: `${l.name} ${stage}${variant ? ` [${variant}]` : ''}`,
      metric: 'GFLOP/s',
      graft: fl / ms / 1e6,
      peers: {},
      note: `${ms.toFixed(1)} ms (first ${firstMs.toFixed(0)} ms), ${ran}`,
    };
    if (Number.isFinite(pms)) row.peers['tfjs-webgpu'] = fl / pms / 1e6;
    ctx.log(`${row.name}: ${row.graft.toFixed(2)} GFLOP/s${row.peers['tfjs-webgpu'] ? `, tfjs ${row.peers['tfjs-webgpu'].toFixed(2)}` : ''}`);
    rows.push(row);
  }
  if (tfSetup) {
    const y = fwd();
    await tfSetup.check(await y.data()).catch((e: Error) => ctx.log(e.message));
    y.dispose();
  }
  tfSetup?.dispose();
  for (const t of [x, f, dy]) t.dispose();
  return rows;
}

/** Median ms per call of a tfjs computation, timed by reading back its last result. */
async function timePeer(make: () => TfTensor, timing: { warmup: number; iters: number; inner: number }): Promise<number> {
  // NOTE: waiting on tfjs' queue alone (submit + onSubmittedWorkDone) returned before its work had run here.
  let last: TfTensor | null = null;
  const step = () => {
    last?.dispose();
    last = make();
  };
  const t = await timeAsync(step, async () => void (await last?.data()), timing);
  (last as TfTensor | null)?.dispose();
  return t.ms;
}

interface PeerCase {
  fwd: () => TfTensor;
  bx: () => TfTensor;
  bf: () => TfTensor;
  /** Compares the peer's forward with Graft's (logs a mismatch; the peer column is then suspect). */
  check: (graftY: ArrayLike<number>) => Promise<void>;
  dispose: () => void;
}

function peerCase(peer: TfPeer, l: Layer, geo: ConvGeometry, host: Float32Array[], yShape: number[]): PeerCase {
  const tf = peer.tf;
  const x = tf.tensor(host[0]!, l.x) as import('@tensorflow/tfjs-core').Tensor4D;
  const f = tf.tensor(host[1]!, l.f) as import('@tensorflow/tfjs-core').Tensor4D;
  const dy = tf.tensor(host[2]!, yShape as [number, number, number, number]) as import('@tensorflow/tfjs-core').Tensor4D;
  const s: [number, number] = [l.stride, l.stride];
  const conv = l.kind === 'conv';
  const run = (name: string, inputs: Record<string, TfTensor>, attrs: Record<string, unknown>) =>
    tf.engine().runKernel(name, inputs as never, attrs as never) as TfTensor;
  return {
    fwd: () => (conv ? tf.conv2d(x, f, s, 'same') : tf.depthwiseConv2d(x, f, s, 'same')),
    bx: () =>
      conv
        ? run('Conv2DBackpropInput', { dy, filter: f }, { strides: s, pad: 'same', dataFormat: 'NHWC', inputShape: l.x })
        : run('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { strides: s, dilations: [1, 1], pad: 'same', inputShape: l.x }),
    bf: () =>
      conv
        ? run('Conv2DBackpropFilter', { x, dy }, { strides: s, pad: 'same', dataFormat: 'NHWC', filterShape: l.f })
        : run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: s, dilations: [1, 1], pad: 'same', filterShape: l.f }),
    check: async (graftY) => {
      const y = tf.tidy(() => (conv ? tf.conv2d(x, f, s, 'same') : tf.depthwiseConv2d(x, f, s, 'same')));
      const v = await y.data();
      y.dispose();
      let m = 0;
      for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]! - graftY[i]!));
      if (!(m <= 1e-3 * Math.sqrt(geo.kh * geo.kw * geo.c))) throw new Error(`tfjs ${l.name}: forward differs from Graft by ${m}`);
    },
    dispose: () => {
      x.dispose();
      f.dispose();
      dy.dispose();
    },
  };
}

const suite: Suite = async (ctx) => {
  const peer = await loadTfjs(ctx.log);
  const rows: BenchRow[] = [];
  const only = process.env.CONV_BENCH_ONLY;
  // NOTE: --variants=all, or a comma-separated list of variants (conv2d and depthwise share the names).
  const asked = ctx.options.variants === 'all' ? [...CONV2D_VARIANTS] : (ctx.options.variants ?? '').split(',').filter(Boolean);
  const caps = capsOf(ctx.device);
  const runnable = CONV2D_VARIANTS.filter(
    (v) => asked.includes(v) && (v !== 'subgroup' || caps.features.has('subgroups')) && (v !== 'f16' || caps.features.has('shader-f16')),
  );
  const dwRunnable = DEPTHWISE_VARIANTS.filter((v) => runnable.includes(v as (typeof runnable)[number]));
  // NOTE: --batch=N replaces the batch of 8 (a loaded software adapter cannot time every variant at 8).
  const batch = intList(ctx, 'batch', [B])[0]!;
  for (const layer of layers) {
    const l: Layer = { ...layer, x: [batch, layer.x[1], layer.x[2], layer.x[3]] };
    if (ctx.quick && !quickLayers.includes(l.name)) continue;
    if (only && !l.name.includes(only)) continue;
    const peerMs = new Map<string, number>();
    rows.push(...(await runLayer(ctx, peer, l, null, peerMs)));
    if (l.kind === 'depthwise') {
      for (const v of dwRunnable) rows.push(...(await withVariant('depthwise', v, () => runLayer(ctx, peer, l, v, peerMs))));
      continue;
    }
    // NOTE: only kxk convolutions have conv2d variants (1x1 ones run as matmuls).
    if (l.f[0] === 1 && l.f[1] === 1) continue;
    for (const v of runnable) rows.push(...(await withVariant('conv2d', v, () => runLayer(ctx, peer, l, v, peerMs))));
  }
  return rows;
};

export default suite;
