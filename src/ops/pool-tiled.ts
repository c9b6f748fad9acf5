// Max and average pooling's forward under the 'pool' family: 'workgroup' runs the tiled kernels (shaders/pool_tiled*,
// windows read a tile staged in workgroup memory); 'register' and 'subgroup' run pool.wgsl's kernels (windowed
// pooling has no subgroup form). The backward kernels are shared by every variant.

import { defineKernel, grid, type Kernel } from '../gpu/kernel.js';
import { tunedVariant, type TuneJob } from '../gpu/tuner.js';
import { Uniforms } from '../gpu/uniforms.js';
import { capsOf, forcedOr, unsupportedReason, type AdapterCaps } from '../gpu/variants.js';
import type { Tensor } from '../tensor/tensor.js';
import { poolFamily, type PoolVariant } from './pool-reduce.js';

/** The window geometry the tiled kernels read (PoolGeometry of src/ops/pool.ts). */
export interface WindowGeometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  oh: number;
  ow: number;
}

/** Channel lanes x output columns per workgroup of the tiled kernels. */
const WGX = 8;
const WGY = 16;

interface TiledParams {
  shape: readonly number[];
  g: WindowGeometry;
  /** Channels per invocation: 4 for the vec4 kernels, else 1. */
  width: number;
  op: number;
  /** Input positions staged per lane: kh * ((WGY - 1) * sw + kw). */
  tile: number;
}

const tileOf = (g: WindowGeometry) => g.kh * ((WGY - 1) * g.sw + g.kw);

function tiledKernels(entry: string, outputs: number): { scalar: Kernel<TiledParams>; vec4: Kernel<TiledParams> } {
  const make = (file: string) =>
    defineKernel<TiledParams>({
      name: `${file}:${entry}`, shader: file, entryPoint: entry, inputs: 1, outputs,
      constants: (p) => ({ WGX, WGY, TILE: p.tile, OP: p.op }),
      uniforms: (p) => {
        const [n, h, w, c] = p.shape as [number, number, number, number];
        const lanes = c / p.width;
        return new Uniforms().u32(n, h, w, lanes, p.g.oh, p.g.ow, p.g.kh, p.g.kw, p.g.sh, p.g.sw, p.g.pt, p.g.pl, 0);
      },
      workgroups: (p) => {
        const [n, , , c] = p.shape as [number, number, number, number];
        return grid(n * p.g.oh * Math.ceil(p.g.ow / WGY) * Math.ceil(c / p.width / WGX));
      },
    });
  return { scalar: make('pool_tiled'), vec4: make('pool_tiled_v4') };
}

const pool2dTiled = tiledKernels('pool2d_tiled', 1);
const argmaxTiled = tiledKernels('max_pool_argmax_tiled', 2);

/** The refusal for an adapter with `caps` that cannot run the tiled kernels for this geometry, or null. */
export function tiledPoolUnsupported(caps: AdapterCaps, g: WindowGeometry, c: number): string | null {
  const bytes = WGX * tileOf(g) * (c % 4 === 0 ? 16 : 4);
  const why = unsupportedReason(caps, { workgroup: [WGX, WGY], workgroupBytes: bytes });
  return why && `Graft pool: variant 'workgroup' cannot run on this adapter for a ${g.kh}x${g.kw}/${g.sh}x${g.sw} window: ${why}`;
}

const log2up = (v: number) => (v <= 1 ? 0 : Math.ceil(Math.log2(v)));

/** The tuner's shape class for windowed pooling: window, strides, log2 sizes and vec4 alignment. */
export function windowBucket(shape: readonly number[], g: WindowGeometry, op: number): string {
  const [n, h, w, c] = shape as [number, number, number, number];
  return `win${op}k${g.kh}x${g.kw}s${g.sh}x${g.sw}n${log2up(n)}h${log2up(h)}w${log2up(w)}c${log2up(c)}a${c % 4 === 0 ? 1 : 0}`;
}

/**
 * Whether windowed pooling of x with geometry g runs the tiled kernels: forced, tuned (GRAFT_TUNE=on, with `job` for
 * the bucket) or not (the heuristic, 'register').
 */
export function windowedTiled(x: Tensor, g: WindowGeometry, op: number, job: () => TuneJob): boolean {
  const v = forcedOr(poolFamily, () => tunedVariant(x.device, 'pool', windowBucket(x.shape, g, op), 'register', job)) as PoolVariant;
  if (v !== 'workgroup') return false;
  const why = tiledPoolUnsupported(capsOf(x.device), g, x.shape[3]!);
  if (why) throw new Error(why);
  return true;
}

/** Whether the adapter can run the tiled kernels for this geometry (tuning candidates). */
export function tiledPoolRunnable(x: Tensor, g: WindowGeometry): boolean {
  return tiledPoolUnsupported(capsOf(x.device), g, x.shape[3]!) === null;
}

/** Records the tiled forward: y (and the arg-max positions when `idx` is given) for OP 0 (max) or 1 (mean). */
export function runTiledPool(x: Tensor, g: WindowGeometry, op: number, y: Tensor, idx: Tensor | null): void {
  const width = x.shape[3]! % 4 === 0 ? 4 : 1;
  const p: TiledParams = { shape: x.shape, g, width, op, tile: tileOf(g) };
  const k = idx ? argmaxTiled : pool2dTiled;
  x.device.run(width === 4 ? k.vec4 : k.scalar, [x.buffer], idx ? [y.buffer, idx.buffer] : [y.buffer], p);
}
