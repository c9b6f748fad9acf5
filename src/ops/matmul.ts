// Batched matmul with a fused bias + activation epilogue; backward as matmuls with transpose flags.

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { isGradEnabled } from '../tensor/engine.js';
import { recordOp, Tensor } from '../tensor/tensor.js';
import { broadcastStrides, checkRank, formatShape, sizeOf } from '../tensor/shape.js';
import { checkFloat, checkSameDevice } from './checks.js';
import { mapUnary, unaryGrad } from './elementwise.js';
import { sumToShape } from './reduce.js';

/** Epilogue activations; the codes match `act` (and `ACT`) in shaders/matmul.wgsl. */
export const MatmulActivation = { linear: 0, relu: 1, relu6: 2, sigmoid: 3, tanh: 4, silu: 5 } as const;
/** Activations the matmul kernel can fuse into its epilogue. */
export type MatmulActivationName = keyof typeof MatmulActivation;

/** Options of `matmul`. */
export interface MatmulOptions {
  /** Read `a` as [..., K, M] (its last two dims swapped). */
  transposeA?: boolean;
  /** Read `b` as [..., N, K] (its last two dims swapped). */
  transposeB?: boolean;
  /** Added to every row of the product: shape [N]. */
  bias?: Tensor;
  /** Applied after the bias, in the same kernel (default 'linear'). */
  activation?: MatmulActivationName;
}

/** Register-tiling configuration: one invocation computes `tm` x `4*tn4` outputs; a workgroup is `wgx` x `wgy`. */
export interface MatmulTile {
  /** Invocations per workgroup along N. */
  wgx: number;
  /** Invocations per workgroup along M. */
  wgy: number;
  /** Rows of C per invocation (1..16; tm * tn4 <= 16). */
  tm: number;
  /** Groups of 4 columns of C per invocation (1..2). */
  tn4: number;
}

/** Shapes and strides of one matmul call, resolved from the inputs and flags. */
interface MatmulPlan {
  m: number;
  n: number;
  k: number;
  outShape: number[];
  /** Output batch dims (after broadcasting), and a's / b's element strides along them (0 where broadcast). */
  batchShape: number[];
  astr: number[];
  bstr: number[];
  sam: number;
  sak: number;
  sbk: number;
  sbn: number;
}

interface MatmulParams {
  plan: MatmulPlan;
  tile: MatmulTile;
  act: number;
  hasBias: boolean;
  /** vec4 layouts of a and b (matmul_vec4 only). */
  va: number;
  vb: number;
}

const groupCounts = (p: MatmulParams) => {
  const groupsN = Math.ceil(p.plan.n / (p.tile.wgx * 4 * p.tile.tn4));
  const groupsM = Math.ceil(p.plan.m / (p.tile.wgy * p.tile.tm));
  return { groupsN, groupsM, batch: sizeOf(p.plan.batchShape) };
};

function matmulKernelFor(entryPoint: 'matmul' | 'matmul_vec4') {
  return defineKernel<MatmulParams>({
    name: entryPoint,
    shader: 'matmul',
    entryPoint,
    inputs: 3,
    outputs: 1,
    constants: (p) => ({
      WGX: p.tile.wgx,
      WGY: p.tile.wgy,
      TM: p.tile.tm,
      TN4: p.tile.tn4,
      ...(entryPoint === 'matmul_vec4' ? { VA: p.va, VB: p.vb } : {}),
    }),
    uniforms: (p) => {
      const { groupsN, groupsM, batch } = groupCounts(p);
      const q = p.plan;
      return new Uniforms()
        .u32(q.m, q.n, q.k, batch, groupsN, groupsM, q.batchShape.length, q.sam, q.sak, q.sbk, q.sbn, p.act)
        .u32(p.hasBias ? 1 : 0)
        .vec4u(q.batchShape, 2, 1)
        .vec4u(q.astr, 2)
        .vec4u(q.bstr, 2);
    },
    workgroups: (p) => {
      const { groupsN, groupsM, batch } = groupCounts(p);
      return grid(groupsN * groupsM * batch);
    },
  });
}

/** Gathers scalars: any layout. */
const matmulScalarKernel = matmulKernelFor('matmul');
/** Loads vec4s: needs the alignment that `vecLayout` checks. */
const matmulVec4Kernel = matmulKernelFor('matmul_vec4');

/**
 * The vec4 layouts (VA, VB in shaders/matmul.wgsl) a plan allows, or null when one operand is not aligned.
 * VA 1: a rows along K (K % 4 == 0); 2: a stored [K, M] (M % 4 == 0, tm % 4 == 0). VB 1: b rows along N
 * (N % 4 == 0); 2: b stored [N, K] (K % 4 == 0).
 */
function vecLayout(plan: MatmulPlan, tile: MatmulTile): { va: number; vb: number } | null {
  const transA = plan.sak !== 1;
  const transB = plan.sbn !== 1;
  const va = !transA ? (plan.k % 4 === 0 ? 1 : 0) : plan.m % 4 === 0 && tile.tm % 4 === 0 ? 2 : 0;
  const vb = !transB ? (plan.n % 4 === 0 ? 1 : 0) : plan.k % 4 === 0 ? 2 : 0;
  return va && vb ? { va, vb } : null;
}

interface NaiveParams {
  plan: MatmulPlan;
}

const NAIVE_WG = 8;

const naiveKernel = defineKernel<NaiveParams>({
  name: 'matmul_naive',
  shader: 'matmul_naive',
  entryPoint: 'matmul_naive',
  inputs: 2,
  outputs: 1,
  constants: () => ({ WG: NAIVE_WG }),
  uniforms: (p) => new Uniforms().u32(p.plan.m, p.plan.n, p.plan.k, p.plan.sam, p.plan.sak, p.plan.sbk, p.plan.sbn),
  workgroups: (p) => [Math.ceil(p.plan.n / NAIVE_WG), Math.ceil(p.plan.m / NAIVE_WG), 1],
});

interface ActBackwardParams {
  act: number;
  n: number;
}

const ACT_WG = 64;

const actBackwardKernel = defineKernel<ActBackwardParams>({
  name: 'matmul_act_backward',
  shader: 'matmul',
  entryPoint: 'act_backward',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WGX: ACT_WG, ACT: p.act }),
  uniforms: (p) => new Uniforms().u32(p.n),
  workgroups: (p) => grid(Math.ceil(p.n / (ACT_WG * 4))),
});

function describe(a: readonly number[], b: readonly number[], o: MatmulOptions): string {
  const flags = [o.transposeA ? 'transposeA' : '', o.transposeB ? 'transposeB' : ''].filter(Boolean).join(', ');
  return `a ${formatShape(a)} and b ${formatShape(b)}${flags ? ` (${flags})` : ''}`;
}

/** Resolves M, N, K, the broadcast batch and the strides; throws naming the op and both shapes. */
function planMatmul(aShape: readonly number[], bShape: readonly number[], o: MatmulOptions): MatmulPlan {
  if (aShape.length < 2 || bShape.length < 2) {
    throw new Error(`Graft matmul: both inputs need rank >= 2, got ${describe(aShape, bShape, o)}`);
  }
  const ar = aShape.length;
  const br = bShape.length;
  const [m, ka] = o.transposeA ? [aShape[ar - 1]!, aShape[ar - 2]!] : [aShape[ar - 2]!, aShape[ar - 1]!];
  const [kb, n] = o.transposeB ? [bShape[br - 1]!, bShape[br - 2]!] : [bShape[br - 2]!, bShape[br - 1]!];
  if (ka !== kb) {
    throw new Error(`Graft matmul: inner dimensions differ: ${describe(aShape, bShape, o)} give K = ${ka} and ${kb}`);
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batchShape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aBatch[aBatch.length - rank + i] ?? 1;
    const db = bBatch[bBatch.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`Graft matmul: batch dimensions of ${describe(aShape, bShape, o)} cannot be broadcast`);
    }
    batchShape.push(da === 1 ? db : da);
  }
  const outShape = [...batchShape, m, n];
  checkRank('matmul', outShape);
  const k = ka;
  return {
    m,
    n,
    k,
    outShape,
    batchShape,
    astr: broadcastStrides(aBatch, batchShape).map((s) => s * m * k),
    bstr: broadcastStrides(bBatch, batchShape).map((s) => s * k * n),
    sam: o.transposeA ? 1 : k,
    sak: o.transposeA ? m : 1,
    sbk: o.transposeB ? 1 : n,
    sbn: o.transposeB ? k : 1,
  };
}

/**
 * Folds broadcast-free batches into M where that keeps the layout ([B, M, K] x [K, N] is one [B*M, K] x [K, N]):
 * the 2-D fast path, which skips the per-invocation batch decode.
 */
function foldBatch(plan: MatmulPlan, o: MatmulOptions): MatmulPlan {
  const batch = sizeOf(plan.batchShape);
  if (plan.batchShape.length === 0) return plan;
  if (batch === 1) return { ...plan, batchShape: [], astr: [], bstr: [] };
  const aFull = plan.astr.every((s, i) => s !== 0 || plan.batchShape[i] === 1);
  const bNone = plan.bstr.every((s) => s === 0);
  if (!o.transposeA && aFull && bNone) {
    return { ...plan, m: plan.m * batch, batchShape: [], astr: [], bstr: [], sam: plan.k };
  }
  return plan;
}

/**
 * Picks the register tile for a shape. Measured on lavapipe (bench/matmul.ts): an 8x8 block per invocation with
 * lanes spread along N, so that the 8 lanes of a subgroup share A's addresses, beats 4x4 and 8x4 blocks and 8x8
 * workgroups; for narrow N (EfficientNet's 1x1 projections, N <= 32) lanes spread along M instead and share B.
 */
export function chooseTile(m: number, n: number, k: number): MatmulTile {
  // NOTE: below ~4 MFLOP the 8x8 block's compile time (seconds on lavapipe) outweighs its speed: take a 4x4 one.
  const small = m * n * k <= 1 << 21;
  if (n <= 32) return { wgx: 1, wgy: 8, tm: small ? 4 : 8, tn4: n <= 4 || small ? 1 : 2 };
  return { wgx: n >= 128 ? 16 : 8, wgy: 1, tm: small ? 4 : 8, tn4: small ? 1 : 2 };
}

/** Runs the tuned kernel without recording: act(op(a) · op(b) + bias). `tile` overrides the automatic choice. */
export function matmulRaw(a: Tensor, b: Tensor, o: MatmulOptions = {}, tile?: MatmulTile): Tensor {
  const plan = planMatmul(a.shape, b.shape, o);
  checkOptions(a, b, o, plan.n);
  const out = new Tensor(a.device, plan.outShape, 'float32');
  const folded = foldBatch(plan, o);
  const act = MatmulActivation[o.activation ?? 'linear'];
  const t = tile ?? chooseTile(folded.m, folded.n, folded.k);
  if (!(t.tm >= 1 && t.tn4 >= 1 && t.tn4 <= 2 && t.tm * t.tn4 <= 16)) {
    throw new Error(`Graft matmul: tile ${t.tm}x${4 * t.tn4} is outside 1..16 rows, 4 or 8 columns, 64 outputs`);
  }
  const biasBuf = o.bias ? o.bias.buffer : a.buffer; // NOTE: an unused dummy binding when there is no bias
  const vec = vecLayout(folded, t);
  const params = { plan: folded, tile: t, act, hasBias: !!o.bias, va: vec?.va ?? 0, vb: vec?.vb ?? 0 };
  a.device.run(vec ? matmulVec4Kernel : matmulScalarKernel, [a.buffer, b.buffer, biasBuf], [out.buffer], params);
  return out;
}

/** The naive kernel (one invocation per output, 2-D only, no epilogue): documentation and benchmark baseline. */
export function matmulNaive(a: Tensor, b: Tensor, o: Pick<MatmulOptions, 'transposeA' | 'transposeB'> = {}): Tensor {
  const plan = planMatmul(a.shape, b.shape, o);
  if (plan.batchShape.length > 0) throw new Error(`Graft matmulNaive: 2-D inputs only, got ${describe(a.shape, b.shape, o)}`);
  const out = new Tensor(a.device, plan.outShape, 'float32');
  a.device.run(naiveKernel, [a.buffer, b.buffer], [out.buffer], { plan });
  return out;
}

/** Checks the activation name and the bias shape against N; throws naming the op and both shapes. */
function checkOptions(a: Tensor, b: Tensor, o: MatmulOptions, n: number): void {
  const act = o.activation ?? 'linear';
  if (!(act in MatmulActivation)) {
    throw new Error(`Graft matmul: unknown activation '${act}' (known: ${Object.keys(MatmulActivation).join(', ')})`);
  }
  if (!o.bias) return;
  checkFloat('matmul', o.bias);
  checkSameDevice('matmul', a, o.bias);
  if (o.bias.rank !== 1 || o.bias.shape[0] !== n) {
    throw new Error(`Graft matmul: bias ${formatShape(o.bias.shape)} must have shape [${n}] (N) for ${describe(a.shape, b.shape, o)}`);
  }
}

/** dy * act'(z) from the output y, for activations whose derivative the output determines. */
function actBackward(y: Tensor, dy: Tensor, act: MatmulActivationName): Tensor {
  const out = new Tensor(y.device, y.shape, 'float32');
  y.device.run(actBackwardKernel, [y.buffer, dy.buffer], [out.buffer], { act: MatmulActivation[act], n: y.size });
  return out;
}

/** Sums `g` to `shape` and frees `g` when a new tensor came out. */
function reduceTo(g: Tensor, shape: readonly number[]): Tensor {
  const s = sumToShape(g, shape);
  if (s !== g) g.dispose();
  return s;
}

/** Gradient w.r.t. a, given dZ = d(op(a) · op(b)). */
function gradA(a: Tensor, b: Tensor, dz: Tensor, o: MatmulOptions): Tensor {
  // d op(A) = dZ · op(B)^T; with transposeA, dA = op(B) · dZ^T.
  const raw = o.transposeA
    ? matmulRaw(b, dz, { transposeA: !!o.transposeB, transposeB: true })
    : matmulRaw(dz, b, { transposeB: !o.transposeB });
  return reduceTo(raw, a.shape);
}

/** Gradient w.r.t. b, given dZ. */
function gradB(a: Tensor, b: Tensor, dz: Tensor, o: MatmulOptions): Tensor {
  if (b.rank === 2 && !o.transposeA && a.rank > 2) {
    // NOTE: a shared 2-D b sees every batch row: fold the batch into M ([B*M, K]^T · [B*M, N]) instead of reducing B products.
    const k = a.shape[a.rank - 1]!;
    const n = dz.shape[dz.rank - 1]!;
    const a2 = new Tensor(a.device, [a.size / Math.max(k, 1), k], 'float32', a);
    const dz2 = new Tensor(dz.device, [a2.shape[0]!, n], 'float32', dz);
    const g = o.transposeB ? matmulRaw(dz2, a2, { transposeA: true }) : matmulRaw(a2, dz2, { transposeA: true });
    a2.dispose();
    dz2.dispose();
    return g;
  }
  // d op(B) = op(A)^T · dZ; with transposeB, dB = dZ^T · op(A).
  const raw = o.transposeB
    ? matmulRaw(dz, a, { transposeA: true, transposeB: !!o.transposeA })
    : matmulRaw(a, dz, { transposeA: !o.transposeA });
  return reduceTo(raw, b.shape);
}

/**
 * act(op(a) · op(b) + bias) with op = transpose where asked: a [..., M, K] (or [..., K, M]), b [..., K, N]
 * (or [..., N, K]); batch dims broadcast NumPy-style. Bias and activation are fused into the kernel.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  checkFloat('matmul', a, b);
  checkSameDevice('matmul', a, b);
  const act = options.activation ?? 'linear';
  const bias = options.bias;
  const inputs = bias ? [a, b, bias] : [a, b];
  const recording = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  // NOTE: silu's derivative needs the pre-activation; when recording, keep z and apply silu as its own kernel.
  const z = recording && act === 'silu' ? matmulRaw(a, b, { ...options, activation: 'linear' }) : null;
  const out = z ? mapUnary(z, 'silu') : matmulRaw(a, b, options);
  return recordOp(out, inputs, 'matmul', (g, needs) => {
    let dz = g;
    if (z) dz = unaryGrad(z, g, 'silu');
    else if (act !== 'linear') dz = actBackward(out, g, act);
    const ga = needs[0] ? gradA(a, b, dz, options) : null;
    const gb = needs[1] ? gradB(a, b, dz, options) : null;
    const gbias = bias && needs[2] ? sumToShape(dz, bias.shape) : null;
    if (dz !== g && dz !== gbias) dz.dispose();
    z?.dispose();
    return bias ? [ga, gb, gbias] : [ga, gb];
  });
}
