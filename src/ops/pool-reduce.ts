// Global average pooling's forward reduction over H*W in three variants: 'register' (one invocation per chunk and
// lane, shaders/pool.wgsl), 'workgroup' (a tree in workgroup memory) and 'subgroup' (subgroupAdd, then a small
// workgroup tree). All write partials [N, S, C] (the output when S = 1) that gap_finalize adds up.

import type { Device } from '../gpu/device.js';
import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import { tunedVariant, type TuneJob } from '../gpu/tuner.js';
import { Uniforms } from '../gpu/uniforms.js';
import { capsOf, forcedOr, registerFamily, unsupportedReason, type AdapterCaps, type VariantNeeds } from '../gpu/variants.js';
import { randomUniform, Tensor } from '../tensor/tensor.js';

/** The pooling variants, the heuristic default first. */
export const POOL_VARIANTS = ['register', 'workgroup', 'subgroup'] as const;
export type PoolVariant = (typeof POOL_VARIANTS)[number];

/**
 * The 'pool' family for `forceVariant('pool', name)` and the tuner. The variants differ in global average pooling's
 * reduction and, for 'workgroup', in max/average pooling's forward (tiled, src/ops/pool-tiled.ts); the backward
 * kernels are shared by all three.
 */
export const poolFamily = registerFamily({ family: 'pool', names: POOL_VARIANTS, lowPrecision: [] });

/** Uniforms of the global-pooling kernels (GapParams in shaders/pool.wgsl). */
export interface GapParams {
  n: number;
  /** Rows per image (H*W). */
  hw: number;
  /** Lanes per row: C, or C/4 for the vec4 kernels (gap_finalize always gets C). */
  c: number;
  /** Rows per chunk and chunks per image of the first pass. */
  r: number;
  s: number;
  /** Invocations (register kernels). */
  total: number;
  scale: number;
}

export const gapUniforms = (p: GapParams) => new Uniforms().u32(p.n, p.hw, p.c, p.r, p.s, p.total).f32(p.scale);

/** Invocations per workgroup of the register kernels. */
export const POOL_WG = 64;
/** 'workgroup': lanes x rows per workgroup (WGY a power of 2, for the tree). */
const WGX = 16;
const WGY = 16;
/** 'subgroup': invocations per workgroup, all on one lane (a power of 2). */
const SG_WG = 64;

/** Invocations that share one (image, chunk, lane). */
const rowThreads: Record<PoolVariant, number> = { register: 1, workgroup: WGY, subgroup: SG_WG };

interface LaneKernels {
  scalar: Kernel<GapParams>;
  vec4: Kernel<GapParams>;
}

function laneKernels(shader: string, entry: string, constants: Record<string, number>, groups: (p: GapParams) => number, v4Suffix: boolean): LaneKernels {
  const make = (file: string, ep: string) =>
    defineKernel<GapParams>({
      name: `${file}:${ep}`, shader: file, entryPoint: ep, inputs: 1, outputs: 1,
      constants: () => constants, uniforms: gapUniforms, workgroups: (p) => grid(groups(p)),
    });
  // NOTE: the register kernels keep both forms in pool.wgsl (entry suffix _v4); the variants have a file per form.
  return v4Suffix ? { scalar: make(shader, entry), vec4: make(shader, `${entry}_v4`) } : { scalar: make(shader, entry), vec4: make(`${shader}_v4`, entry) };
}

const partialKernels: Record<PoolVariant, LaneKernels> = {
  register: laneKernels('pool', 'gap_partial', { WG: POOL_WG }, (p) => Math.ceil(p.total / POOL_WG), true),
  workgroup: laneKernels('pool_workgroup', 'gap_partial_wg', { WGX, WGY }, (p) => p.n * p.s * Math.ceil(p.c / WGX), false),
  subgroup: laneKernels('pool_subgroup', 'gap_partial_sg', { WG: SG_WG }, (p) => p.n * p.s * p.c, false),
};

const gapFinalize = defineKernel<GapParams>({
  name: 'gap_finalize', shader: 'pool', entryPoint: 'gap_finalize', inputs: 1, outputs: 1,
  constants: () => ({ WG: POOL_WG }), uniforms: gapUniforms, workgroups: (p) => grid(Math.ceil(p.total / POOL_WG)),
});

function needsOf(v: PoolVariant): VariantNeeds {
  switch (v) {
    case 'register':
      return { workgroup: [POOL_WG, 1] };
    case 'workgroup':
      return { workgroup: [WGX, WGY], workgroupBytes: WGX * WGY * 16 };
    case 'subgroup':
      return { features: ['subgroups'], workgroup: [SG_WG, 1], workgroupBytes: SG_WG * 16 };
  }
}

/** The refusal for an adapter with `caps` that cannot run `variant`, naming family, variant and the reason; or null. */
export function poolVariantUnsupported(caps: AdapterCaps, variant: PoolVariant): string | null {
  const why = unsupportedReason(caps, needsOf(variant));
  return why && `Graft pool: variant '${variant}' cannot run on this adapter: ${why}`;
}

const log2up = (v: number) => (v <= 1 ? 0 : Math.ceil(Math.log2(v)));

/** The shape class the tuner keys on: log2 of batch, H*W and channels, and vec4 alignment of C. */
export function poolBucket(n: number, hw: number, c: number): string {
  return `n${log2up(n)}hw${log2up(hw)}c${log2up(c)}a${c % 4 === 0 ? 1 : 0}`;
}

/** The variant a global average pooling of [n, hw, c] runs: forced (tests), tuned (GRAFT_TUNE=on) or 'register'. */
export function poolVariant(device: Device, n: number, hw: number, c: number): PoolVariant {
  const v = forcedOr(poolFamily, () => tunedVariant(device, 'pool', poolBucket(n, hw, c), 'register', () => tuneJob(device, n, hw, c))) as PoolVariant;
  const why = poolVariantUnsupported(capsOf(device), v);
  if (why) throw new Error(why);
  return v;
}

/**
 * Writes the mean over rows of x viewed as [n, hw, c] into `y` ([n, c] elements) with `variant` (default: chosen).
 * Returns the chunk plan (rows per chunk r, chunks s) so that callers and tests can see how the work was split.
 */
export function gapReduce(x: Tensor, y: Tensor, n: number, hw: number, c: number, variant?: PoolVariant): { r: number; s: number } {
  const d = x.device;
  const v = variant ?? poolVariant(d, n, hw, c);
  const width = c % 4 === 0 ? 4 : 1;
  const lanes = c / width;
  const threads = rowThreads[v];
  // NOTE: one invocation per (n, c) would walk H*W rows serially; chunks of rows keep large maps parallel.
  const target = Math.max(1, Math.min(Math.ceil(hw / (32 * threads)), Math.ceil(32768 / Math.max(1, n * lanes * threads))));
  const r = Math.ceil(hw / target);
  const s = Math.ceil(hw / r);
  const k = width === 4 ? partialKernels[v].vec4 : partialKernels[v].scalar;
  if (s === 1) {
    d.run(k, [x.buffer], [y.buffer], { n, hw, c: lanes, r, s, total: n * lanes, scale: 1 / hw });
  } else {
    const part = new Tensor(d, [n, s, c], 'float32');
    d.run(k, [x.buffer], [part.buffer], { n, hw, c: lanes, r, s, total: n * s * lanes, scale: 1 });
    d.run(gapFinalize, [part.buffer], [y.buffer], { n, hw, c, r, s, total: n * c, scale: 1 / hw });
    part.dispose();
  }
  return { r, s };
}

/** A tuning job for one bucket: a seeded [n, hw, c] input; a probe compares a candidate's means with 'register'. */
function tuneJob(device: Device, n: number, hw: number, c: number): TuneJob {
  // NOTE: explicit seeds, so tuning never advances the user's random stream.
  const x = randomUniform([n, hw, c], -1, 1, { seed: 41, device });
  const outs: Tensor[] = [];
  const run = (v: PoolVariant) => {
    const y = new Tensor(device, [n, c], 'float32');
    gapReduce(x, y, n, hw, c, v);
    return y;
  };
  const caps = capsOf(device);
  return {
    candidates: POOL_VARIANTS.filter((v) => poolVariantUnsupported(caps, v) === null),
    run: (v) => outs.push(run(v as PoolVariant)),
    probe: async (v) => {
      const [a, b] = [run('register'), run(v as PoolVariant)];
      const [want, got] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
      a.dispose();
      b.dispose();
      // NOTE: means of values in [-1, 1): float32 sums in another order differ by ~eps * sqrt(hw) relative.
      const tol = 1e-6 * (1 + Math.sqrt(hw));
      for (let i = 0; i < want.length; i++) if (!(Math.abs(got[i]! - want[i]!) <= tol)) return false;
      return true;
    },
    dispose: () => {
      for (const t of [x, ...outs]) t.dispose();
      outs.length = 0;
    },
  };
}
