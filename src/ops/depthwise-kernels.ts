// The depthwise conv2d kernel variants: register-tiled (shaders/depthwise_conv2d.wgsl, vec4 or scalar), workgroup-
// memory tiled with f32 or f16 tiles (shaders/depthwise_conv2d_tiled*.wgsl) and a subgroup filter gradient
// (shaders/depthwise_conv2d_subgroup.wgsl); their specializations, limits, fallbacks and dispatch.

import type { Device } from '../gpu/device.js';
import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { capsOf, registerFamily, unsupportedReason, type VariantNeeds } from '../gpu/variants.js';
import { Tensor } from '../tensor/tensor.js';
import { sumPartials } from './conv2d.js';
import type { ConvGeometry } from './conv-geometry.js';

/** The depthwise variants, the heuristic default first. */
export const DEPTHWISE_VARIANTS = ['register', 'tiled', 'subgroup', 'f16'] as const;
export type DepthwiseVariant = (typeof DEPTHWISE_VARIANTS)[number];

/** The family for `forceVariant('depthwise', name)` and the tuner; 'f16' rounds inputs to f16, so never auto-picked. */
export const depthwiseFamily = registerFamily({ family: 'depthwise', names: DEPTHWISE_VARIANTS, lowPrecision: ['f16'] });

/** The three kernels of a depthwise convolution. */
export type DepthwiseStage = 'forward' | 'backward_input' | 'backward_filter';

/** The kernel a variant runs for one stage and shape (a variant falls back to 'register' where it has none). */
export type DepthwiseKernelKind = 'register' | 'tiled' | 'tiled_f16' | 'subgroup';

// ---- register kernels (shaders/depthwise_conv2d.wgsl) ----

const WG = 64;
const WIN = 24; // NOTE: register window length in shaders/depthwise_conv2d.wgsl.
const KB = 8; // NOTE: filter taps per invocation in the filter gradient (KB in the shader).

interface DwParams {
  geo: ConvGeometry;
  mult: number;
  /** vec4 path: MULT == 1 and C % 4 == 0. */
  vec4: boolean;
  /** Channel (group) count along the invocation grid. */
  ch: number;
  /** Invocations that do work. */
  lanes: number;
  tp: number;
  /** Output rows per invocation (forward vec4). */
  tr: number;
  act: number;
  hasBias: boolean;
  chunk: number;
  chunks: number;
}

const constants = (p: DwParams) => ({ WG, KW: p.geo.kw, SW: p.geo.sw, DW: p.geo.dw, TP: p.tp });
// NOTE: the forward also specializes the rows per invocation and the vertical geometry (its row loop).
const forwardConstants = (p: DwParams) => ({ ...constants(p), TR: p.tr, KH: p.geo.kh, SH: p.geo.sh, DH: p.geo.dh });

const uniforms = (p: DwParams) => {
  const g = p.geo;
  return new Uniforms()
    .u32(g.n, g.h, g.w, g.c, g.oh, g.ow, p.mult, p.ch, g.padTop, g.padLeft, p.chunk, p.lanes)
    .u32(g.kh, g.sh, g.dh, p.act, p.hasBias ? 1 : 0, 0, 0, 0);
};

function registerKernels(stage: DepthwiseStage, inputs: number) {
  const make = (vec4: boolean) =>
    defineKernel<DwParams>({
      name: `depthwise_${stage}${vec4 ? '_vec4' : ''}`,
      shader: 'depthwise_conv2d',
      entryPoint: `depthwise_${stage}${vec4 ? '_vec4' : ''}`,
      inputs,
      outputs: 1,
      constants: stage === 'forward' ? forwardConstants : constants,
      uniforms,
      workgroups: (p) =>
        stage === 'backward_filter' ? [Math.ceil(p.lanes / WG), p.chunks, 1] : grid(Math.ceil(p.lanes / WG)),
    });
  return { vec4: make(true), scalar: make(false) };
}

const forwardKernels = registerKernels('forward', 3);
const backwardInputKernels = registerKernels('backward_input', 2);
const backwardFilterKernels = registerKernels('backward_filter', 2);

// NOTE: two output rows per invocation share each loaded input row (vec4 forward): 25-50% less CPU time than one
// on the bench's depthwise layers (lavapipe).
const FORWARD_ROWS = 2;

/**
 * Pixel tile (4..8, or smaller where the window needs) whose input window fits the shader's register window,
 * wasting the fewest columns of a row of `width` (7 for 28 or 14 wide maps), the larger on ties.
 */
export function pixelTile(geo: ConvGeometry, op: string, width = geo.ow): number {
  let best = 0;
  let bestUse = 0;
  for (let tp = 8; tp >= 1; tp--) {
    if ((tp - 1) * geo.sw + (geo.kw - 1) * geo.dw + 1 > WIN || (tp < 4 && best > 0)) continue;
    const use = width / (Math.ceil(width / tp) * tp) + tp / 64; // NOTE: the second term favours larger tiles a little.
    if (use > bestUse) [best, bestUse] = [tp, use];
  }
  if (best === 0) throw new Error(`Graft ${op}: filter width ${geo.kw} with dilation ${geo.dw} spans more than ${WIN} pixels`);
  return best;
}

const isVec4 = (geo: ConvGeometry, mult: number) => mult === 1 && geo.c % 4 === 0;

function baseParams(geo: ConvGeometry, mult: number): Omit<DwParams, 'ch' | 'lanes' | 'tp'> {
  return { geo, mult, vec4: isVec4(geo, mult), tr: 1, act: 0, hasBias: false, chunk: 0, chunks: 1 };
}

function registerForward(x: Tensor, filter: Tensor, geo: ConvGeometry, bias: Tensor | null, act: number, out: Tensor): void {
  const mult = filter.shape[3]!;
  const b = baseParams(geo, mult);
  const tp = pixelTile(geo, 'depthwiseConv2d');
  const ch = b.vec4 ? geo.c / 4 : geo.c * mult;
  const tr = b.vec4 ? FORWARD_ROWS : 1;
  const p: DwParams = { ...b, ch, tp, tr, lanes: geo.n * Math.ceil(geo.oh / tr) * Math.ceil(geo.ow / tp) * ch, act, hasBias: bias !== null };
  // NOTE: without a bias the filter buffer fills the unused binding (read-only aliasing is allowed).
  x.device.run(b.vec4 ? forwardKernels.vec4 : forwardKernels.scalar, [x.buffer, filter.buffer, (bias ?? filter).buffer], [out.buffer], p);
}

function registerBackwardInput(dy: Tensor, filter: Tensor, geo: ConvGeometry, dx: Tensor): void {
  const b = baseParams(geo, filter.shape[3]!);
  // NOTE: the window is only used with stride 1 along W; otherwise any tile size fits.
  const tp = geo.sw === 1 ? pixelTile(geo, 'depthwiseConv2d backward', geo.w) : 4;
  const ch = b.vec4 ? geo.c / 4 : geo.c;
  const p: DwParams = { ...b, ch, tp, lanes: geo.n * geo.h * Math.ceil(geo.w / tp) * ch };
  dy.device.run(b.vec4 ? backwardInputKernels.vec4 : backwardInputKernels.scalar, [dy.buffer, filter.buffer], [dx.buffer], p);
}

function registerBackwardFilter(x: Tensor, dy: Tensor, filterShape: readonly number[], geo: ConvGeometry): Tensor {
  const mult = filterShape[3]!;
  const b = baseParams(geo, mult);
  const ch = b.vec4 ? geo.c / 4 : geo.c * mult;
  const lanes = geo.kh * Math.ceil(geo.kw / KB) * ch;
  const total = geo.n * geo.oh * geo.ow;
  const parallel = Math.ceil(lanes / WG);
  const { chunk, used } = chunks(total, parallel, 64, 64);
  const partial = new Tensor(x.device, [used * geo.kh * geo.kw * geo.c * mult], 'float32');
  const p: DwParams = { ...b, ch, tp: 1, lanes, chunk, chunks: used };
  x.device.run(b.vec4 ? backwardFilterKernels.vec4 : backwardFilterKernels.scalar, [x.buffer, dy.buffer], [partial.buffer], p);
  return finishPartials(partial, used, filterShape);
}

/** Splits `total` output pixels into chunks: about `target` workgroups in all, at least `min` pixels a chunk. */
function chunks(total: number, parallel: number, target: number, min: number): { chunk: number; used: number } {
  const n = Math.max(1, Math.min(Math.ceil(target / parallel), Math.ceil(total / min)));
  const chunk = Math.max(1, Math.ceil(total / n));
  return { chunk, used: Math.max(1, Math.ceil(total / chunk)) };
}

function finishPartials(partial: Tensor, used: number, filterShape: readonly number[]): Tensor {
  const out = sumPartials(partial, used, filterShape);
  partial.dispose();
  return out;
}

// ---- workgroup-memory tiled and subgroup kernels ----

interface TiledParams {
  geo: ConvGeometry;
  /** Override constants of the specialization. */
  consts: Record<string, number>;
  /** Workgroups to dispatch. */
  groups: readonly [number, number, number];
  /** The `groups` uniform: workgroups that do work (forward, input gradient) or the chunk length (filter). */
  count: number;
  act: number;
  hasBias: boolean;
}

function tiledKernel(shader: string, entryPoint: string, inputs: number): Kernel<TiledParams> {
  return defineKernel<TiledParams>({
    name: `${shader}:${entryPoint}`,
    shader,
    entryPoint,
    inputs,
    outputs: 1,
    constants: (p) => p.consts,
    uniforms: (p) => {
      const g = p.geo;
      return new Uniforms().u32(g.n, g.h, g.w, g.c / 4, g.oh, g.ow, g.padTop, g.padLeft, p.act, p.hasBias ? 1 : 0, p.count, 0);
    },
    workgroups: (p) => p.groups,
  });
}

const tiledForward = tiledKernel('depthwise_conv2d_tiled', 'depthwise_tiled_forward', 3);
const tiledBackwardInput = tiledKernel('depthwise_conv2d_tiled', 'depthwise_tiled_backward_input', 2);
const tiledF16Forward = tiledKernel('depthwise_conv2d_tiled_f16', 'depthwise_tiled_forward', 3);
const tiledF16BackwardInput = tiledKernel('depthwise_conv2d_tiled_f16', 'depthwise_tiled_backward_input', 2);
const tiledBackwardFilter = tiledKernel('depthwise_conv2d_tiled', 'depthwise_tiled_backward_filter', 2);
const subgroupBackwardFilter = tiledKernel('depthwise_conv2d_subgroup', 'depthwise_subgroup_backward_filter', 2);

/** Taps the subgroup filter gradient keeps in registers (MAXT in its shader). */
const SUBGROUP_MAX_TAPS = 25;
// NOTE: 16 KiB is what every WebGPU adapter offers; tiles stay within it even where the adapter allows more.
const TILE_BYTES = 16384;
const TILE_INVOCATIONS = 256;
const SUBGROUP_WGS = 64;
const SUBGROUP_TB = 5; // TB in shaders/depthwise_conv2d_subgroup.wgsl

/** A workgroup tile of the tiled forward / input-gradient kernels: CG channel groups x PH x PW pixels. */
export interface DepthwiseTile {
  cg: number;
  ph: number;
  pw: number;
  /** Rows and columns of the staged input (forward) or dy (input gradient) tile. */
  th: number;
  tw: number;
}

function tileExtent(stage: DepthwiseStage, geo: ConvGeometry, ph: number, pw: number): [number, number] {
  if (stage === 'forward') return [(ph - 1) * geo.sh + (geo.kh - 1) * geo.dh + 1, (pw - 1) * geo.sw + (geo.kw - 1) * geo.dw + 1];
  // NOTE: a tile of P input pixels reads dy rows floor((y0+pt-(K-1)D)/S) .. floor((y0+P-1+pt)/S).
  const ext = (p: number, k: number, s: number, d: number) => Math.floor((p + (k - 1) * d + s - 2) / s) + 1;
  return [ext(ph, geo.kh, geo.sh, geo.dh), ext(pw, geo.kw, geo.sw, geo.dw)];
}

/**
 * The tile of the tiled kernels: up to 16 channel groups (64 contiguous channels) and 4x4..8x8 pixels, about 256
 * invocations, shrunk (pixels first, then channels) until the staged tile fits `maxBytes` and `maxInvocations`.
 */
export function depthwiseTile(stage: DepthwiseStage, geo: ConvGeometry, elemBytes: number, maxBytes: number, maxInvocations: number): DepthwiseTile {
  let cg = Math.min(16, geo.c / 4);
  let ph = 4;
  let pw = 4;
  while (cg * ph * pw < TILE_INVOCATIONS && ph < 8) [pw, ph] = pw <= ph ? [pw * 2, ph] : [pw, ph * 2];
  for (;;) {
    const [th, tw] = tileExtent(stage, geo, ph, pw);
    if ((th * tw * cg * elemBytes <= maxBytes && cg * ph * pw <= maxInvocations) || (cg === 1 && ph === 1 && pw === 1)) return { cg, ph, pw, th, tw };
    if (ph * pw > 1) [pw, ph] = pw >= ph ? [Math.max(1, pw >> 1), ph] : [pw, Math.max(1, ph >> 1)];
    else cg = Math.ceil(cg / 2);
  }
}

/** One stage's launch: the kernel, its parameters and what it asks of the adapter. */
interface TiledLaunch {
  kernel: Kernel<TiledParams>;
  params: TiledParams;
  needs: VariantNeeds;
  /** Filter gradient: chunks of N*OH*OW, each a partial. */
  used: number;
}

const geoConsts = (geo: ConvGeometry) => ({ KH: geo.kh, KW: geo.kw, SH: geo.sh, SW: geo.sw, DH: geo.dh, DW: geo.dw });

function tiledLaunch(device: Device, stage: 'forward' | 'backward_input', geo: ConvGeometry, f16: boolean): TiledLaunch {
  const elem = f16 ? 8 : 16;
  const l = device.limits;
  const t = depthwiseTile(stage, geo, elem, Math.min(TILE_BYTES, l.maxComputeWorkgroupStorageSize), Math.min(TILE_INVOCATIONS, l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX));
  const wg = t.cg * t.ph * t.pw;
  const [rows, cols] = stage === 'forward' ? [geo.oh, geo.ow] : [geo.h, geo.w];
  const count = geo.n * Math.ceil(rows / t.ph) * Math.ceil(cols / t.pw) * Math.ceil(geo.c / 4 / t.cg);
  const kernel = stage === 'forward' ? (f16 ? tiledF16Forward : tiledForward) : f16 ? tiledF16BackwardInput : tiledBackwardInput;
  return {
    kernel,
    params: { geo, consts: { WG: wg, CG: t.cg, PH: t.ph, PW: t.pw, TH: t.th, TW: t.tw, ...geoConsts(geo) }, groups: grid(count), count, act: 0, hasBias: false },
    needs: { features: f16 ? ['shader-f16'] : [], workgroup: [wg, 1], workgroupBytes: t.th * t.tw * t.cg * elem },
    used: 1,
  };
}

function filterLaunch(device: Device, geo: ConvGeometry, subgroup: boolean): TiledLaunch {
  const ch = geo.c / 4;
  const total = geo.n * geo.oh * geo.ow;
  if (subgroup) {
    const { chunk, used } = chunks(total, ch, 64, SUBGROUP_WGS * 4);
    return {
      kernel: subgroupBackwardFilter,
      params: { geo, consts: { WGS: SUBGROUP_WGS, ...geoConsts(geo) }, groups: [ch, used, 1], count: chunk, act: 0, hasBias: false },
      needs: { features: ['subgroups'], workgroup: [SUBGROUP_WGS, 1], workgroupBytes: SUBGROUP_WGS * SUBGROUP_TB * 16 },
      used,
    };
  }
  // NOTE: CG channel groups x TAPS x RL reducers (RL a power of two, for the tree) within 256 invocations.
  const maxInv = Math.min(TILE_INVOCATIONS, device.limits.maxComputeInvocationsPerWorkgroup, device.limits.maxComputeWorkgroupSizeX);
  const taps = geo.kh * geo.kw;
  const cg = Math.max(1, Math.min(4, ch, Math.floor(maxInv / taps)));
  let rl = 1;
  while (rl * 2 * cg * taps <= maxInv && rl < 64) rl *= 2;
  const blocks = Math.ceil(ch / cg);
  const { chunk, used } = chunks(total, blocks, 64, rl * 16);
  const wg = cg * taps * rl;
  return {
    kernel: tiledBackwardFilter,
    params: { geo, consts: { WG: wg, CG: cg, RL: rl, TAPS: taps, ...geoConsts(geo) }, groups: [blocks, used, 1], count: chunk, act: 0, hasBias: false },
    needs: { workgroup: [wg, 1], workgroupBytes: wg * 16 },
    used,
  };
}

/**
 * The kernel `variant` runs for `stage` on this shape. Fallbacks to 'register': the scalar path (MULT > 1 or
 * C % 4 != 0) in every variant; 'subgroup' forward and input gradient (its own kernel is the filter gradient);
 * filter gradients of more than 25 taps (7x7) in 'subgroup' and of more than 256 (one invocation per tap) in
 * 'tiled' and 'f16'. 'f16' runs the f32 'tiled' filter gradient: its workgroup memory holds partial sums, which
 * f16 would ruin.
 */
export function depthwiseKernelKind(variant: DepthwiseVariant, stage: DepthwiseStage, geo: ConvGeometry, mult: number): DepthwiseKernelKind {
  if (variant === 'register' || !isVec4(geo, mult)) return 'register';
  if (stage === 'backward_filter') {
    const taps = geo.kh * geo.kw;
    if (variant === 'subgroup') return taps > SUBGROUP_MAX_TAPS ? 'register' : 'subgroup';
    return taps > TILE_INVOCATIONS ? 'register' : 'tiled';
  }
  if (variant === 'subgroup') return 'register';
  return variant === 'f16' ? 'tiled_f16' : 'tiled';
}

function launchFor(device: Device, kind: DepthwiseKernelKind, stage: DepthwiseStage, geo: ConvGeometry): TiledLaunch | null {
  if (kind === 'register') return null;
  if (stage === 'backward_filter') return filterLaunch(device, geo, kind === 'subgroup');
  return tiledLaunch(device, stage, geo, kind === 'tiled_f16');
}

/**
 * Why `device` cannot run `variant` for this stage and shape, or null when it can. A variant that needs a feature
 * is refused on an adapter without it even where this shape would fall back to 'register'.
 */
export function depthwiseVariantUnsupported(device: Device, variant: DepthwiseVariant, stage: DepthwiseStage, geo: ConvGeometry, mult: number): string | null {
  const features = variant === 'subgroup' ? ['subgroups'] : variant === 'f16' ? ['shader-f16'] : [];
  const why = unsupportedReason(capsOf(device), { features });
  if (why) return why;
  const l = launchFor(device, depthwiseKernelKind(variant, stage, geo, mult), stage, geo);
  return l ? unsupportedReason(capsOf(device), l.needs) : null;
}

function checkRunnable(device: Device, variant: DepthwiseVariant, stage: DepthwiseStage, geo: ConvGeometry, mult: number): void {
  const why = depthwiseVariantUnsupported(device, variant, stage, geo, mult);
  if (why) throw new Error(`Graft depthwiseConv2d: variant '${variant}' cannot run on this adapter: ${why}`);
}

/** Records the forward of `variant`: y = act(depthwise(x, filter) + bias), into a new tensor. */
export function runDepthwiseForward(variant: DepthwiseVariant, x: Tensor, filter: Tensor, geo: ConvGeometry, bias: Tensor | null, act: number): Tensor {
  const mult = filter.shape[3]!;
  checkRunnable(x.device, variant, 'forward', geo, mult);
  const out = new Tensor(x.device, [geo.n, geo.oh, geo.ow, geo.c * mult], 'float32');
  const l = launchFor(x.device, depthwiseKernelKind(variant, 'forward', geo, mult), 'forward', geo);
  if (!l) registerForward(x, filter, geo, bias, act, out);
  else x.device.run(l.kernel, [x.buffer, filter.buffer, (bias ?? filter).buffer], [out.buffer], { ...l.params, act, hasBias: bias !== null });
  return out;
}

/** Records dL/dx of `variant` given dL/dy. */
export function runDepthwiseBackwardInput(variant: DepthwiseVariant, dy: Tensor, filter: Tensor, geo: ConvGeometry): Tensor {
  const mult = filter.shape[3]!;
  checkRunnable(dy.device, variant, 'backward_input', geo, mult);
  const dx = new Tensor(dy.device, [geo.n, geo.h, geo.w, geo.c], 'float32');
  const l = launchFor(dy.device, depthwiseKernelKind(variant, 'backward_input', geo, mult), 'backward_input', geo);
  if (!l) registerBackwardInput(dy, filter, geo, dx);
  else dy.device.run(l.kernel, [dy.buffer, filter.buffer], [dx.buffer], l.params);
  return dx;
}

/** Records dL/dfilter of `variant` given x and dL/dy (a reduction over N*OH*OW). */
export function runDepthwiseBackwardFilter(variant: DepthwiseVariant, x: Tensor, dy: Tensor, filterShape: readonly number[], geo: ConvGeometry): Tensor {
  const mult = filterShape[3]!;
  checkRunnable(x.device, variant, 'backward_filter', geo, mult);
  const l = launchFor(x.device, depthwiseKernelKind(variant, 'backward_filter', geo, mult), 'backward_filter', geo);
  if (!l) return registerBackwardFilter(x, dy, filterShape, geo);
  const partial = new Tensor(x.device, [l.used * geo.kh * geo.kw * geo.c], 'float32');
  x.device.run(l.kernel, [x.buffer, dy.buffer], [partial.buffer], l.params);
  return finishPartials(partial, l.used, filterShape);
}
