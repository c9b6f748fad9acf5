// The matmul kernel variants (shaders/matmul*.wgsl): register-tiled (scalar or vec4 loads), workgroup-memory tiled
// (f32 or f16 tiles), and split-K with subgroup reductions; their specializations, limits and dispatch.

import type { Device } from '../gpu/device.js';
import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { capsOf, registerFamily, unsupportedReason, type VariantNeeds } from '../gpu/variants.js';
import { sizeOf } from '../tensor/shape.js';

/** The matmul variants, the heuristic default first. */
export const MATMUL_VARIANTS = ['register', 'tiled', 'subgroup', 'f16'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

/** The matmul family for `forceVariant('matmul', name)` and the tuner; 'f16' rounds inputs to f16, so never auto-picked. */
export const matmulFamily = registerFamily({ family: 'matmul', names: MATMUL_VARIANTS, lowPrecision: ['f16'] });

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
export interface MatmulPlan {
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
  /** Rows of A per row of the A-scale (0: no A-scale prologue). */
  scaleRows: number;
  /** Whether the epilogue multiplies by a per-column scale. */
  hasColScale: boolean;
  /** Whether the epilogue adds a residual of C's shape. */
  hasResidual: boolean;
  /** Overrides beyond the tile (VA, VB, TK, WGS), per kernel. */
  extra: Record<string, number>;
  /** The tiled kernels' `layout` uniform bits (AK, BK, VA, VB); 0 for the others. */
  layout: number;
}

const groupCounts = (p: MatmulParams) => {
  const groupsN = Math.ceil(p.plan.n / (p.tile.wgx * 4 * p.tile.tn4));
  const groupsM = Math.ceil(p.plan.m / (p.tile.wgy * p.tile.tm));
  return { groupsN, groupsM, batch: sizeOf(p.plan.batchShape) };
};

function matmulKernel(shader: string, entryPoint: string): Kernel<MatmulParams> {
  return defineKernel<MatmulParams>({
    name: `${shader}:${entryPoint}`,
    shader,
    entryPoint,
    inputs: 6,
    outputs: 1,
    constants: (p) => ({ WGX: p.tile.wgx, WGY: p.tile.wgy, TM: p.tile.tm, TN4: p.tile.tn4, ...p.extra }),
    uniforms: (p) => {
      const { groupsN, groupsM, batch } = groupCounts(p);
      const q = p.plan;
      return new Uniforms()
        .u32(q.m, q.n, q.k, batch, groupsN, groupsM, q.batchShape.length, q.sam, q.sak, q.sbk, q.sbn, p.act)
        .u32(p.hasBias ? 1 : 0, p.layout, p.scaleRows > 0 ? 1 : 0, Math.max(1, p.scaleRows), p.hasColScale ? 1 : 0, p.hasResidual ? 1 : 0)
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
const registerScalar = matmulKernel('matmul', 'matmul');
/** Loads vec4s: needs the alignment that `vecLayout` checks. */
const registerVec4 = matmulKernel('matmul', 'matmul_vec4');
const tiledF32 = matmulKernel('matmul_tiled', 'matmul_tiled');
const tiledF16 = matmulKernel('matmul_tiled_f16', 'matmul_tiled');
const subgroupKernel = matmulKernel('matmul_subgroup', 'matmul_subgroup');

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

/** Checks a register tile's bounds; throws naming the tile. */
export function checkTile(t: MatmulTile): void {
  if (!(t.tm >= 1 && t.tn4 >= 1 && t.tn4 <= 2 && t.tm * t.tn4 <= 16)) {
    throw new Error(`Graft matmul: tile ${t.tm}x${4 * t.tn4} is outside 1..16 rows, 4 or 8 columns, 64 outputs`);
  }
}

/** A variant's kernel, specialization and adapter needs for one plan. */
interface Launch {
  kernel: Kernel<MatmulParams>;
  tile: MatmulTile;
  extra: Record<string, number>;
  layout: number;
  needs: VariantNeeds;
}

// NOTE: tiled: 16x16 invocations of 4x4 blocks (a 64x64 tile of C), the common shape of WebGPU GEMMs (tfjs, ORT);
// TK 16 (f32) or 32 (f16) keeps both double-buffered tiles at 16 KiB, half the 32 KiB every adapter offers.
const TILED: MatmulTile = { wgx: 16, wgy: 16, tm: 4, tn4: 1 };
const SUBGROUP_WGS = 64;
const SUBGROUP_TM = 4;
const MAX_RUNS = 4; // MAXR in shaders/matmul_tiled_body.wgsl

/** Whether every 4-element run of an operand along its contiguous axis starts 16-byte aligned. */
const aligned = (contiguousExtent: number, batchStrides: readonly number[]) =>
  contiguousExtent % 4 === 0 && batchStrides.every((s) => s % 4 === 0);

function tiledLaunch(device: Device, plan: MatmulPlan, f16: boolean): Launch {
  const maxInv = device.limits.maxComputeInvocationsPerWorkgroup;
  // NOTE: halve the workgroup's rows on adapters below 256 invocations (the WebGPU default guarantees 256).
  const tile = maxInv >= TILED.wgx * TILED.wgy ? TILED : { ...TILED, wgy: Math.max(1, Math.floor(maxInv / TILED.wgx)) };
  const tk = f16 ? 32 : 16;
  const tsm = tile.wgy * tile.tm;
  const tsn = tile.wgx * 4 * tile.tn4;
  const ak = plan.sak === 1 ? 1 : 0;
  const bk = plan.sbn === 1 ? 0 : 1;
  const va = aligned(ak ? plan.k : plan.m, plan.astr) ? 1 : 0;
  const vb = aligned(bk ? plan.k : plan.n, plan.bstr) ? 1 : 0;
  const nt = tile.wgx * tile.wgy;
  const runs = Math.max(Math.ceil((tsm * tk) / 4 / nt), Math.ceil((tsn * tk) / 4 / nt));
  if (runs > MAX_RUNS || tsm % 4 !== 0) throw new Error(`Graft matmul: tiled specialization ${JSON.stringify(tile)} TK ${tk} needs ${runs} loads per invocation`);
  return {
    kernel: f16 ? tiledF16 : tiledF32,
    tile,
    extra: { TK: tk },
    layout: ak | (bk << 1) | (va << 2) | (vb << 3),
    needs: {
      features: f16 ? ['shader-f16'] : [],
      workgroup: [tile.wgx, tile.wgy],
      workgroupBytes: 2 * tk * (tsm + tsn) * (f16 ? 2 : 4),
    },
  };
}

function launchFor(device: Device, variant: MatmulVariant, plan: MatmulPlan, registerTile?: MatmulTile): Launch {
  switch (variant) {
    case 'register': {
      const tile = registerTile ?? chooseTile(plan.m, plan.n, plan.k);
      checkTile(tile);
      const vec = vecLayout(plan, tile);
      return {
        kernel: vec ? registerVec4 : registerScalar,
        tile,
        extra: vec ? { VA: vec.va, VB: vec.vb } : {},
        layout: 0,
        needs: { workgroup: [tile.wgx, tile.wgy] },
      };
    }
    case 'tiled':
      return tiledLaunch(device, plan, false);
    case 'f16':
      return tiledLaunch(device, plan, true);
    case 'subgroup':
      return {
        kernel: subgroupKernel,
        tile: { wgx: 1, wgy: 1, tm: SUBGROUP_TM, tn4: 1 },
        extra: { WGS: SUBGROUP_WGS },
        layout: 0,
        needs: { features: ['subgroups'], workgroup: [SUBGROUP_WGS, 1], workgroupBytes: SUBGROUP_WGS * SUBGROUP_TM * 16 },
      };
  }
}

/** Why `device` cannot run `variant` for this plan, or null when it can. */
export function matmulVariantUnsupported(device: Device, variant: MatmulVariant, plan: MatmulPlan): string | null {
  return unsupportedReason(capsOf(device), launchFor(device, variant, plan).needs);
}

/**
 * The buffers of one matmul; `scale` (with `scaleRows` > 0) is the A-scale prologue's [M / scaleRows, K] table,
 * `colScale` the epilogue's [N] scale applied before the bias, `residual` a tensor of C's shape added last.
 */
export interface MatmulBuffers {
  a: GPUBuffer;
  b: GPUBuffer;
  bias: GPUBuffer | null;
  out: GPUBuffer;
  scale?: GPUBuffer | null;
  scaleRows?: number;
  colScale?: GPUBuffer | null;
  /** Added to C after the activation (same layout as C). */
  residual?: GPUBuffer | null;
}

/**
 * Records one matmul of `variant`: out = act(op(a · s) · op(b) * colScale + bias) + residual, s the optional A-scale; `registerTile`
 * overrides the register tile.
 */
export function runMatmulVariant(
  device: Device,
  variant: MatmulVariant,
  plan: MatmulPlan,
  buffers: MatmulBuffers,
  act: number,
  registerTile?: MatmulTile,
): void {
  const l = launchFor(device, variant, plan, registerTile);
  const why = unsupportedReason(capsOf(device), l.needs);
  if (why) throw new Error(`Graft matmul: variant '${variant}' cannot run on this adapter: ${why}`);
  const scaled = buffers.scale ? (buffers.scaleRows ?? 0) : 0;
  if (scaled > 0 && (plan.sak !== 1 || plan.batchShape.length > 0)) {
    throw new Error('Graft matmul: the A-scale prologue needs an untransposed, unbatched A');
  }
  // NOTE: an absent bias or scale binds the smallest operand (never read), so the bound-bytes counters stay honest.
  const dummy = [buffers.a, buffers.b, buffers.bias ?? buffers.a].reduce((x, y) => (y.size < x.size ? y : x));
  const colScale = buffers.colScale ?? null;
  const residual = buffers.residual ?? null;
  const params: MatmulParams = {
    plan, tile: l.tile, act, hasBias: buffers.bias !== null, scaleRows: scaled, hasColScale: colScale !== null,
    hasResidual: residual !== null, extra: l.extra, layout: l.layout,
  };
  const ins = [buffers.a, buffers.b, buffers.bias ?? dummy, buffers.scale ?? dummy, colScale ?? dummy, residual ?? dummy];
  device.run(l.kernel, ins, [buffers.out], params);
}
