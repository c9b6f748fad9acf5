// Batch norm's per-channel reductions (training statistics and the backward sums), in three variants that all write
// partials [2, S, C] for the finalize passes: 'register' (one invocation per chunk and lane, shaders/batchnorm_lanes),
// 'workgroup' (a tree in workgroup memory) and 'subgroup' (subgroupAdd, then a small workgroup tree).

import type { Device } from '../gpu/device.js';
import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import { tunedVariant, type TuneJob } from '../gpu/tuner.js';
import { Uniforms } from '../gpu/uniforms.js';
import { capsOf, forcedOr, registerFamily, unsupportedReason, type AdapterCaps, type VariantNeeds } from '../gpu/variants.js';
import { randomUniform, Tensor } from '../tensor/tensor.js';

/** The batch-norm reduction variants, the heuristic default first. */
export const BATCHNORM_VARIANTS = ['register', 'workgroup', 'subgroup'] as const;
export type BatchNormVariant = (typeof BATCHNORM_VARIANTS)[number];

/** The 'batchnorm' family for `forceVariant('batchnorm', name)` and the tuner; every variant is float32. */
export const batchNormFamily = registerFamily({ family: 'batchnorm', names: BATCHNORM_VARIANTS, lowPrecision: [] });

/** How a per-channel reduction over M rows is split: S chunks of R rows. */
export interface ChunkPlan {
  /** Rows reduced (product of all axes but the channel axis). */
  m: number;
  /** Channels. */
  c: number;
  /** Rows per chunk. */
  r: number;
  /** Chunks. */
  s: number;
}

/** Invocations per workgroup of the register kernels. */
const WG = 64;
/** 'workgroup': channel lanes x rows per workgroup (WGY a power of 2, for the tree). */
const WGX = 16;
const WGY = 16;
/** 'subgroup': invocations per workgroup, all on one lane (a power of 2, for the tree). */
const SG_WG = 64;

/** Invocations that share one (chunk, lane) pair: 1, WGY or SG_WG. */
const rowThreads: Record<BatchNormVariant, number> = { register: 1, workgroup: WGY, subgroup: SG_WG };

/**
 * Splits M rows into chunks so that about 32k invocations share the first stage and each folds >= 32 rows; an
 * invocation covers 1 or 4 channels, and `threads` invocations share a chunk of one lane.
 */
export function planChunks(m: number, c: number, threads = 1): ChunkPlan {
  const lanes = c % 4 === 0 ? c / 4 : c;
  const target = Math.max(1, Math.min(Math.ceil(m / (32 * threads)), Math.ceil(32768 / Math.max(1, lanes * threads))));
  const r = Math.max(1, Math.ceil(m / target));
  return { m, c, r, s: Math.max(1, Math.ceil(m / r)) };
}

type GradPlan = ChunkPlan & { mode: number; act: number };

const lanesOf = (p: ChunkPlan) => (p.c % 4 === 0 ? p.c / 4 : p.c);
const chunkUniforms = (p: ChunkPlan) => new Uniforms().u32(p.m, lanesOf(p), p.r, p.s);

/** One reduction kernel in its scalar and vec4 forms (vec4 when C % 4 == 0). */
interface LaneKernels<P> {
  scalar: Kernel<P>;
  vec4: Kernel<P>;
}

function laneKernels<P extends ChunkPlan>(
  shader: string, entry: string, inputs: number, constants: (p: P) => Record<string, number>, groups: (p: P) => number,
): LaneKernels<P> {
  const make = (file: string) =>
    defineKernel<P>({
      name: `${file}:${entry}`, shader: file, entryPoint: entry, inputs, outputs: 1, constants,
      uniforms: chunkUniforms, workgroups: (p) => grid(groups(p)),
    });
  return { scalar: make(shader), vec4: make(`${shader}_v4`) };
}

const gradConstants = (p: GradPlan) => ({ MODE: p.mode, ACT: p.act });

const statsKernels: Record<BatchNormVariant, LaneKernels<ChunkPlan>> = {
  register: laneKernels('batchnorm', 'bn_stats_partial', 1, () => ({ WG }), (p) => Math.ceil((p.s * lanesOf(p)) / WG)),
  workgroup: laneKernels('batchnorm_workgroup', 'bn_stats_wg', 1, () => ({ WGX, WGY }), (p) => Math.ceil(lanesOf(p) / WGX) * p.s),
  subgroup: laneKernels('batchnorm_subgroup', 'bn_stats_sg', 1, () => ({ WG: SG_WG }), (p) => lanesOf(p) * p.s),
};

const gradKernels: Record<BatchNormVariant, LaneKernels<GradPlan>> = {
  register: laneKernels('batchnorm', 'channel_grad_partial', 4, (p) => ({ WG, ...gradConstants(p) }), (p) => Math.ceil((p.s * lanesOf(p)) / WG)),
  workgroup: laneKernels('batchnorm_workgroup', 'channel_grad_wg', 4, (p) => ({ WGX, WGY, ...gradConstants(p) }), (p) => Math.ceil(lanesOf(p) / WGX) * p.s),
  subgroup: laneKernels('batchnorm_subgroup', 'channel_grad_sg', 4, (p) => ({ WG: SG_WG, ...gradConstants(p) }), (p) => lanesOf(p) * p.s),
};

/** What a variant asks of the adapter: the subgroup feature, workgroup shape and workgroup memory (vec4 lanes). */
function needsOf(v: BatchNormVariant): VariantNeeds {
  switch (v) {
    case 'register':
      return { workgroup: [WG, 1] };
    case 'workgroup':
      // NOTE: three arrays of WGX*WGY slots (a count and two vec4 moments), the vec4 form's footprint.
      return { workgroup: [WGX, WGY], workgroupBytes: WGX * WGY * (4 + 16 + 16) };
    case 'subgroup':
      return { features: ['subgroups'], workgroup: [SG_WG, 1], workgroupBytes: SG_WG * (4 + 16 + 16) };
  }
}

/** The refusal for an adapter with `caps` that cannot run `variant`, naming family, variant and the reason; or null. */
export function batchNormVariantUnsupported(caps: AdapterCaps, variant: BatchNormVariant): string | null {
  const why = unsupportedReason(caps, needsOf(variant));
  return why && `Graft batchnorm: variant '${variant}' cannot run on this adapter: ${why}`;
}

const log2up = (v: number) => (v <= 1 ? 0 : Math.ceil(Math.log2(v)));

/** The shape class the tuner keys on: log2 of rows and channels, and vec4 alignment of C. */
export function batchNormBucket(m: number, c: number): string {
  return `m${log2up(m)}c${log2up(c)}a${c % 4 === 0 ? 1 : 0}`;
}

/** The variant a reduction over [m, c] runs: forced (tests), tuned (GRAFT_TUNE=on) or 'register'. */
export function batchNormVariant(device: Device, m: number, c: number): BatchNormVariant {
  const v = forcedOr(batchNormFamily, () => tunedVariant(device, 'batchnorm', batchNormBucket(m, c), 'register', () => tuneJob(device, m, c))) as BatchNormVariant;
  const why = batchNormVariantUnsupported(capsOf(device), v);
  if (why) throw new Error(why);
  return v;
}

const pick = <P>(k: LaneKernels<P>, c: number) => (c % 4 === 0 ? k.vec4 : k.scalar);

/** Per-chunk (mean, M2) partials [2, S, C] of x viewed as [m, c], with `variant` (default: chosen); returns the plan. */
export function statsPartials(x: Tensor, m: number, c: number, variant?: BatchNormVariant): { part: Tensor; plan: ChunkPlan } {
  const d = x.device;
  const v = variant ?? batchNormVariant(d, m, c);
  const plan = planChunks(m, c, rowThreads[v]);
  const part = new Tensor(d, [2, plan.s, c], 'float32');
  d.run(pick(statsKernels[v], c), [x.buffer], [part.buffer], plan);
  return { part, plan };
}

/** Per-chunk sums of channel_grad_partial's two terms, partials [2, S, C]; returns the plan. */
export function gradPartials(
  dy: Tensor, x: Tensor, p0: Tensor, p1: Tensor, mode: number, act: number, variant?: BatchNormVariant,
): { part: Tensor; plan: ChunkPlan } {
  const d = x.device;
  const c = x.shape[x.rank - 1]!;
  const m = x.size / c;
  const v = variant ?? batchNormVariant(d, m, c);
  const plan = planChunks(m, c, rowThreads[v]);
  const part = new Tensor(d, [2, plan.s, c], 'float32');
  d.run(pick(gradKernels[v], c), [dy.buffer, x.buffer, p0.buffer, p1.buffer], [part.buffer], { ...plan, mode, act });
  return { part, plan };
}

/**
 * A tuning job for one bucket: a seeded [m, c] input (mean 3, so the shifted Welford path matters); a probe compares
 * a candidate's training statistics with the register variant's.
 */
function tuneJob(device: Device, m: number, c: number): TuneJob {
  // NOTE: explicit seeds, so tuning never advances the user's random stream.
  const x = randomUniform([m, c], 1, 5, { seed: 31, device });
  const outs: Tensor[] = [];
  const caps = capsOf(device);
  return {
    candidates: BATCHNORM_VARIANTS.filter((v) => batchNormVariantUnsupported(caps, v) === null),
    run: (v) => outs.push(statsPartials(x, m, c, v as BatchNormVariant).part),
    probe: async (v) => {
      const moments = async (variant: BatchNormVariant) => {
        const { part, plan } = statsPartials(x, m, c, variant);
        const data = (await part.data()) as Float32Array;
        part.dispose();
        return combine(data, plan);
      };
      const [want, got] = [await moments('register'), await moments(v as BatchNormVariant)];
      // NOTE: values in [1, 5): float32 sums in another order agree to ~1e-5 relative (m up to millions of rows).
      for (let i = 0; i < want.length; i++) if (!(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)))) return false;
      return true;
    },
    dispose: () => {
      for (const t of [x, ...outs]) t.dispose();
      outs.length = 0;
    },
  };
}

/** Combines partials [2, S, C] into [mean..., variance...] on the CPU (the probe's comparison, in float64). */
function combine(part: Float32Array, p: ChunkPlan): Float64Array {
  const out = new Float64Array(2 * p.c);
  for (let c = 0; c < p.c; c++) {
    let n = 0;
    let mean = 0;
    let m2 = 0;
    for (let s = 0; s < p.s; s++) {
      const nb = Math.min(p.r, p.m - s * p.r);
      const d = part[s * p.c + c]! - mean;
      const tot = n + nb;
      mean += (d * nb) / tot;
      m2 += part[p.s * p.c + s * p.c + c]! + (d * d * n * nb) / tot;
      n = tot;
    }
    out[c] = mean;
    out[p.c + c] = m2 / n;
  }
  return out;
}
