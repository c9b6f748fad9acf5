// The conv2d kernel variants (shaders/conv2d*.wgsl): register-tiled (today's default), workgroup-memory tiled
// implicit GEMM (f32 or f16 tiles) and a subgroup filter-gradient reduction; their specializations, limits and
// dispatch, per stage (forward, backward input, backward filter).

import type { Device } from '../gpu/device.js';
import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { capsOf, registerFamily, unsupportedReason, type VariantNeeds } from '../gpu/variants.js';
import { Tensor } from '../tensor/tensor.js';
import type { ConvGeometry } from './conv-geometry.js';

/** The conv2d variants, the heuristic default first. */
export const CONV2D_VARIANTS = ['register', 'tiled', 'subgroup', 'f16'] as const;
export type Conv2DVariant = (typeof CONV2D_VARIANTS)[number];

/** The conv2d family for `forceVariant('conv2d', name)` and the tuner; 'f16' rounds operands to f16, so never auto-picked. */
export const conv2dFamily = registerFamily({ family: 'conv2d', names: CONV2D_VARIANTS, lowPrecision: ['f16'] });

/** The three GEMM-shaped stages of a convolution. */
export type ConvStage = 'forward' | 'input' | 'filter';

// ---- register-tiled kernels (shaders/conv2d.wgsl) ----

interface ConvParams {
  geo: ConvGeometry;
  /** Pixels (or filter rows) per invocation. */
  tp: number;
  cout: number;
  /** vec4 channel groups per invocation. */
  nc4: number;
  wg: number;
  act: number;
  hasBias: boolean;
  /** Output pixels per chunk (filter gradient). */
  chunk: number;
  /** Chunks (filter gradient). */
  chunks: number;
  /** Column groups of the grid (subgroup filter gradient). */
  groupsN: number;
}

const convUniforms = (p: ConvParams) => {
  const g = p.geo;
  return new Uniforms()
    .u32(g.n, g.h, g.w, g.c, g.oh, g.ow, p.cout, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, p.chunk)
    .u32(p.act, p.hasBias ? 1 : 0, p.groupsN, 0);
};

const forwardKernel = defineKernel<ConvParams>({
  name: 'conv2d_forward',
  shader: 'conv2d',
  entryPoint: 'conv2d_forward',
  inputs: 3,
  outputs: 1,
  constants: (p) => ({ WG: p.wg, NC4: p.nc4, TP: p.tp }),
  uniforms: convUniforms,
  workgroups: (p) => [Math.ceil((p.geo.n * p.geo.oh * p.geo.ow) / (p.wg * p.tp)), Math.ceil(p.cout / (4 * p.nc4)), 1],
});

// NOTE: the same bindings, constants and dispatch as the scalar forward; only the entry point loads vec4 pixels.
const forwardVec4Kernel = defineKernel<ConvParams>({ ...forwardKernel, name: 'conv2d_forward_vec4', entryPoint: 'conv2d_forward_vec4' });

const backwardInputKernel = defineKernel<ConvParams>({
  name: 'conv2d_backward_input',
  shader: 'conv2d',
  entryPoint: 'conv2d_backward_input',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WG: p.wg, NC4: p.nc4, TP: p.tp }),
  uniforms: convUniforms,
  workgroups: (p) => [Math.ceil((p.geo.n * p.geo.h * p.geo.w) / (p.wg * p.tp)), Math.ceil(p.geo.c / (4 * p.nc4)), 1],
});

const backwardFilterKernel = defineKernel<ConvParams>({
  name: 'conv2d_backward_filter',
  shader: 'conv2d',
  entryPoint: 'conv2d_backward_filter',
  inputs: 2,
  outputs: 1,
  constants: (p) => ({ WG: p.wg, NC4: p.nc4, TP: p.tp, SHARED_K: p.geo.c % p.tp === 0 ? 1 : 0 }),
  uniforms: convUniforms,
  workgroups: (p) => [Math.ceil((p.geo.kh * p.geo.kw * p.geo.c) / (p.wg * p.tp)), Math.ceil(p.cout / (4 * p.nc4)), p.chunks],
});

// ---- subgroup filter gradient (shaders/conv2d_subgroup.wgsl) ----

const SUBGROUP_WGS = 64;
const SUBGROUP_TR = 4;

const subgroupFilterKernel = defineKernel<ConvParams>({
  name: 'conv2d_backward_filter_subgroup',
  shader: 'conv2d_subgroup',
  entryPoint: 'conv2d_backward_filter_subgroup',
  inputs: 2,
  outputs: 1,
  constants: () => ({ WGS: SUBGROUP_WGS, TR: SUBGROUP_TR }),
  uniforms: convUniforms,
  workgroups: (p) => {
    const [x, y] = grid(Math.ceil((p.geo.kh * p.geo.kw * p.geo.c) / SUBGROUP_TR) * p.groupsN);
    return [x, y, p.chunks];
  },
});

// ---- workgroup-memory tiled implicit GEMM (shaders/conv2d_tiled_body.wgsl) ----

/** One tiled specialization: a WGX x WGY workgroup computes a (WGY*TM) x (WGX*4) tile of C, TK deep per step. */
interface TiledSpec {
  wgx: number;
  wgy: number;
  tm: number;
  tk: number;
}

interface TiledParams {
  geo: ConvGeometry;
  cout: number;
  stage: ConvStage;
  spec: TiledSpec;
  act: number;
  hasBias: boolean;
  /** GEMM sizes of the stage, and K per chunk (stage 'filter'; gk otherwise). */
  gm: number;
  gn: number;
  gk: number;
  kchunk: number;
  chunks: number;
}

const STAGE_CODE: Record<ConvStage, number> = { forward: 0, input: 1, filter: 2 };

const tiledGroups = (p: TiledParams) => ({
  groupsN: Math.ceil(p.gn / (p.spec.wgx * 4)),
  groupsM: Math.ceil(p.gm / (p.spec.wgy * p.spec.tm)),
});

function tiledKernel(shader: string): Kernel<TiledParams> {
  return defineKernel<TiledParams>({
    name: `${shader}:conv2d_tiled`,
    shader,
    entryPoint: 'conv2d_tiled',
    inputs: 3,
    outputs: 1,
    constants: (p) => ({ WGX: p.spec.wgx, WGY: p.spec.wgy, TK: p.spec.tk, STAGE: STAGE_CODE[p.stage] }),
    uniforms: (p) => {
      const g = p.geo;
      const { groupsN, groupsM } = tiledGroups(p);
      // NOTE: VA: A's runs are whole vec4s when the channel count along them (cout for dy, cin for x) is a multiple of 4.
      const va = (p.stage === 'input' ? p.cout : g.c) % 4 === 0 ? 1 : 0;
      const vb = p.cout % 4 === 0 ? 2 : 0;
      return new Uniforms()
        .u32(g.n, g.h, g.w, g.c, g.oh, g.ow, p.cout, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft, p.act)
        .u32(p.hasBias ? 1 : 0, p.gm, p.gn, p.gk, p.kchunk, groupsN, groupsM, va | vb);
    },
    workgroups: (p) => {
      const { groupsN, groupsM } = tiledGroups(p);
      const [x, y] = grid(groupsN * groupsM);
      return [x, y, p.chunks];
    },
  });
}

const tiledF32 = tiledKernel('conv2d_tiled');
const tiledF16 = tiledKernel('conv2d_tiled_f16');

// NOTE: TM is the shader's const 4 (an invocation's rows are one vec4 of the staged A tile).
const TILED_TM = 4;
// NOTE: TK 16 for f32 and f16 alike keeps loads per invocation within MAXR (4) in the shader for every tile below.
const TILED_TK = 16;

/**
 * The tiled specialization for an M x N GEMM: the tile's width the smallest of 16, 32 or 64 columns that covers N
 * (EfficientNet's stem has 32 filters; the input gradient of a 3-channel image has 3 columns), its height 32 rows
 * where M <= 32 (the stem's filter gradient has 27 rows), else 128 rows or as many as 256 invocations (or the
 * adapter's limit) allow. Loads per invocation and step: 16 / WGX runs of A and 16 / WGY of B (<= 4).
 */
function tiledSpec(device: Device, gm: number, gn: number): TiledSpec {
  const l = device.limits;
  const wgx = gn <= 16 ? 4 : gn <= 32 ? 8 : 16;
  const cap = Math.min(32, Math.floor(256 / wgx), Math.floor(l.maxComputeInvocationsPerWorkgroup / wgx), l.maxComputeWorkgroupSizeY);
  // NOTE: two heights only (32 rows, or the tallest): each specialization is a pipeline, which lavapipe compiles slowly.
  const wgy = Math.max(1, Math.min(gm <= 32 ? 8 : 32, cap));
  const runs = Math.max(Math.ceil((TILED_TM * TILED_TK) / (4 * wgx)), Math.ceil(TILED_TK / wgy));
  if (runs > 4) throw new Error(`Graft conv2d: tiled specialization ${wgx}x${wgy} needs ${runs} loads per invocation (at most 4)`);
  return { wgx, wgy, tm: TILED_TM, tk: TILED_TK };
}

/** GEMM sizes of a stage: M rows, N columns, K depth. */
export function stageGemm(stage: ConvStage, geo: ConvGeometry, cout: number): { gm: number; gn: number; gk: number } {
  const taps = geo.kh * geo.kw;
  switch (stage) {
    case 'forward':
      return { gm: geo.n * geo.oh * geo.ow, gn: cout, gk: taps * geo.c };
    case 'input':
      return { gm: geo.n * geo.h * geo.w, gn: geo.c, gk: taps * cout };
    case 'filter':
      return { gm: taps * geo.c, gn: cout, gk: geo.n * geo.oh * geo.ow };
  }
}

/** Splits `total` reduction rows into chunks so that about `target` workgroups run in parallel. */
export function chunking(total: number, parallel: number, target = 64): { chunk: number; chunks: number } {
  const chunks = Math.max(1, Math.min(Math.ceil(target / Math.max(1, parallel)), Math.ceil(total / 64)));
  const chunk = Math.ceil(total / chunks);
  return { chunk, chunks: Math.ceil(total / chunk) };
}

/** What a variant asks of the adapter at a stage (a forced variant the adapter lacks is refused at every stage). */
function needsOf(device: Device, variant: Conv2DVariant, gemm: { gm: number; gn: number }): VariantNeeds {
  switch (variant) {
    case 'register':
      return { workgroup: [64, 1] };
    case 'subgroup':
      return { features: ['subgroups'], workgroup: [SUBGROUP_WGS, 1], workgroupBytes: SUBGROUP_WGS * SUBGROUP_TR * 16 };
    case 'tiled':
    case 'f16': {
      const s = tiledSpec(device, gemm.gm, gemm.gn);
      const bytes = variant === 'f16' ? 2 : 4;
      return {
        features: variant === 'f16' ? ['shader-f16'] : [],
        workgroup: [s.wgx, s.wgy],
        workgroupBytes: 2 * s.tk * (s.wgy * s.tm + s.wgx * 4) * bytes,
      };
    }
  }
}

/** Why `device` cannot run `variant` at `stage` of this geometry, or null when it can. */
export function conv2dVariantUnsupported(device: Device, variant: Conv2DVariant, stage: ConvStage, geo: ConvGeometry, cout: number): string | null {
  return unsupportedReason(capsOf(device), needsOf(device, variant, stageGemm(stage, geo, cout)));
}

function checkRunnable(device: Device, variant: Conv2DVariant, stage: ConvStage, geo: ConvGeometry, cout: number): void {
  const why = conv2dVariantUnsupported(device, variant, stage, geo, cout);
  if (why) throw new Error(`Graft conv2d: variant '${variant}' cannot run on this adapter: ${why}`);
}

/** vec4 channel groups per invocation: wider tiles reuse each gathered pixel value more (measured on lavapipe). */
function channelGroups(channels: number): number {
  return Math.min(4, Math.ceil(channels / 4));
}

// NOTE: pixels (or filter rows) per invocation: 8 beat 4 and 2 by 25-60% in CPU time on lavapipe (bench/conv.ts).
const TP = 8;

/** Workgroup size: 64, or smaller (a multiple of 8) when there is little parallel work along x. */
function workgroupFor(items: number): number {
  return Math.min(64, Math.max(8, 8 * Math.ceil(items / TP / 8)));
}

function baseParams(geo: ConvGeometry, cout: number): ConvParams {
  return { geo, cout, tp: TP, nc4: 4, wg: 64, act: 0, hasBias: false, chunk: 0, chunks: 1, groupsN: 1 };
}

function runTiled(device: Device, f16: boolean, p: Omit<TiledParams, 'spec'>, ins: GPUBuffer[], out: GPUBuffer): void {
  device.run(f16 ? tiledF16 : tiledF32, ins, [out], { ...p, spec: tiledSpec(device, p.gm, p.gn) });
}

/** Records the forward of `variant`: y = act(conv(x, filter) + bias). 'subgroup' runs the register kernel here. */
export function runConvForward(variant: Conv2DVariant, x: Tensor, filter: Tensor, geo: ConvGeometry, bias: Tensor | null, act: number): Tensor {
  const cout = filter.shape[3]!;
  checkRunnable(x.device, variant, 'forward', geo, cout);
  const out = new Tensor(x.device, [geo.n, geo.oh, geo.ow, cout], 'float32');
  // NOTE: without a bias the filter buffer fills the unused binding (read-only aliasing is allowed).
  const ins = [x.buffer, filter.buffer, (bias ?? filter).buffer];
  if (variant === 'tiled' || variant === 'f16') {
    const gemm = stageGemm('forward', geo, cout);
    runTiled(x.device, variant === 'f16', { geo, cout, stage: 'forward', act, hasBias: bias !== null, ...gemm, kchunk: gemm.gk, chunks: 1 }, ins, out.buffer);
    return out;
  }
  // NOTE: vec4 loads of x (4 input channels per gather) took ~18% less CPU time on the 3x3 56x56x64 layer (lavapipe).
  const vec4 = geo.c % 4 === 0 && cout % 4 === 0;
  // NOTE: 16 pixels per invocation beat 8 by ~8% in CPU time for the vec4 kernel on large maps (bench/conv.ts).
  const tp = vec4 && geo.n * geo.oh * geo.ow >= 16384 ? 16 : TP;
  const p = { ...baseParams(geo, cout), tp, nc4: channelGroups(cout), act, hasBias: bias !== null };
  x.device.run(vec4 ? forwardVec4Kernel : forwardKernel, ins, [out.buffer], p);
  return out;
}

/** Records dL/dx of `variant` (the transposed convolution). 'subgroup' runs the register kernel here. */
export function runConvBackwardInput(variant: Conv2DVariant, dy: Tensor, filter: Tensor, geo: ConvGeometry): Tensor {
  const cout = filter.shape[3]!;
  checkRunnable(dy.device, variant, 'input', geo, cout);
  const dx = new Tensor(dy.device, [geo.n, geo.h, geo.w, geo.c], 'float32');
  if (variant === 'tiled' || variant === 'f16') {
    const gemm = stageGemm('input', geo, cout);
    const ins = [dy.buffer, filter.buffer, filter.buffer];
    runTiled(dy.device, variant === 'f16', { geo, cout, stage: 'input', act: 0, hasBias: false, ...gemm, kchunk: gemm.gk, chunks: 1 }, ins, dx.buffer);
    return dx;
  }
  const p = { ...baseParams(geo, cout), nc4: channelGroups(geo.c) };
  dy.device.run(backwardInputKernel, [dy.buffer, filter.buffer], [dx.buffer], p);
  return dx;
}

/** Records dL/dfilter of `variant` as `chunks` partial sums [chunks, kh*kw*cin, cout] over output-pixel chunks. */
export function runConvBackwardFilter(variant: Conv2DVariant, x: Tensor, dy: Tensor, geo: ConvGeometry, cout: number): { partial: Tensor; chunks: number } {
  const device = x.device;
  checkRunnable(device, variant, 'filter', geo, cout);
  const rows = geo.kh * geo.kw * geo.c;
  const pixels = geo.n * geo.oh * geo.ow;
  if (variant === 'tiled' || variant === 'f16') {
    const gemm = stageGemm('filter', geo, cout);
    const spec = tiledSpec(device, gemm.gm, gemm.gn);
    const groups = Math.ceil(gemm.gn / (spec.wgx * 4)) * Math.ceil(gemm.gm / (spec.wgy * spec.tm));
    // NOTE: split-K over output pixels so that about 128 workgroups run; chunks hold whole TK steps.
    const { chunk } = chunking(pixels, groups, 128);
    const kchunk = Math.ceil(chunk / spec.tk) * spec.tk;
    const chunks = Math.ceil(pixels / kchunk);
    const partial = new Tensor(device, [chunks * rows * cout], 'float32');
    const ins = [x.buffer, dy.buffer, dy.buffer];
    runTiled(device, variant === 'f16', { geo, cout, stage: 'filter', act: 0, hasBias: false, ...gemm, kchunk, chunks }, ins, partial.buffer);
    return { partial, chunks };
  }
  if (variant === 'subgroup') {
    const groupsN = Math.ceil(cout / 4);
    const { chunk, chunks } = chunking(pixels, Math.ceil(rows / SUBGROUP_TR) * groupsN, 128);
    const partial = new Tensor(device, [chunks * rows * cout], 'float32');
    device.run(subgroupFilterKernel, [x.buffer, dy.buffer], [partial.buffer], { ...baseParams(geo, cout), chunk, chunks, groupsN });
    return { partial, chunks };
  }
  const nc4 = channelGroups(cout);
  const wg = workgroupFor(rows);
  const parallel = Math.ceil(rows / (wg * TP)) * Math.ceil(cout / (4 * nc4));
  const { chunk, chunks } = chunking(pixels, parallel);
  const partial = new Tensor(device, [chunks * rows * cout], 'float32');
  device.run(backwardFilterKernel, [x.buffer, dy.buffer], [partial.buffer], { ...baseParams(geo, cout), nc4, wg, chunk, chunks });
  return { partial, chunks };
}
