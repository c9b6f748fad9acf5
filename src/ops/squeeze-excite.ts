// Squeeze-excite for inference: the gate in one kernel (shaders/se_gate.wgsl) and the excite multiply folded into
// the following 1x1 conv's matmul as an A-scale prologue. Inference only: neither records a backward.

import { defineKernel, grid } from '../gpu/kernel.js';
import { capsOf, unsupportedReason, type VariantNeeds } from '../gpu/variants.js';
import { Uniforms } from '../gpu/uniforms.js';
import { isGradEnabled } from '../tensor/engine.js';
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { checkFloat, checkSameDevice } from './checks.js';
import { ACTIVATION_CODE, type ConvActivation } from './conv-geometry.js';
import { matmul } from './matmul.js';
import { reshape } from './reshape.js';

/** Options of seGate. */
export interface SeGateOptions {
  /** Bias of the reduce conv, [R]. */
  reduceBias?: Tensor;
  /** Activation of the reduce conv (default 'silu'). */
  reduceActivation?: ConvActivation;
  /** Bias of the expand conv, [C]. */
  expandBias?: Tensor;
  /** Activation of the expand conv (default 'sigmoid'). */
  expandActivation?: ConvActivation;
}

interface GateParams {
  n: number;
  hw: number;
  c: number;
  r: number;
  actR: number;
  actE: number;
  hasBr: boolean;
  hasBe: boolean;
  /** Divisor of the mean (H*W). */
  count: number;
  /** se_pool: rows per chunk and chunks per image. */
  chunk: number;
  chunks: number;
  wg: number;
  cw: number;
  maxC: number;
  maxR: number;
}

const gateKernel = defineKernel<GateParams>({
  name: 'se_gate',
  shader: 'se_gate',
  entryPoint: 'se_gate',
  inputs: 5,
  outputs: 1,
  constants: (p) => ({ WG: p.wg, CW: p.cw, MAXC: p.maxC, MAXR: p.maxR }),
  uniforms: gateUniforms,
  workgroups: (p) => grid(p.n),
});

const poolKernel = defineKernel<GateParams>({
  name: 'se_pool',
  shader: 'se_gate',
  entryPoint: 'se_pool',
  inputs: 1,
  outputs: 1,
  constants: (p) => ({ WG: p.wg, CW: p.cw }),
  uniforms: gateUniforms,
  workgroups: (p) => grid(p.n * p.chunks * Math.ceil(p.c / p.cw)),
});

function gateUniforms(p: GateParams): Uniforms {
  return new Uniforms().u32(p.n, p.hw, p.c, p.r, p.actR, p.actE, p.hasBr ? 1 : 0, p.hasBe ? 1 : 0, p.count, p.chunk, p.chunks);
}

// NOTE: above this many rows per image the pool runs first as its own dispatch over chunks of POOL_CHUNK rows, so
// that large maps are summed by many workgroups rather than one per image.
const POOL_CHUNK = 256;

// NOTE: capacities round up to powers of two so that B0's seven channel counts share a few pipelines.
const pow2 = (v: number, min: number) => Math.max(min, 2 ** Math.ceil(Math.log2(Math.max(1, v))));

/** The gate kernel's specialization for C channels and R hidden units, and what it asks of the adapter. */
function gateLaunch(maxInvocations: number, c: number, r: number): { wg: number; cw: number; maxC: number; maxR: number; needs: VariantNeeds } {
  const wg = Math.min(256, maxInvocations);
  const cw = Math.min(64, wg);
  const maxC = pow2(c, 64);
  const maxR = pow2(r, 16);
  return { wg, cw, maxC, maxR, needs: { workgroup: [wg, 1], workgroupBytes: 4 * (maxC + wg + maxR) } };
}

/** Why seGate cannot run for C channels and R hidden units on `device`, or null when it can. */
export function seGateUnsupported(device: Tensor['device'], c: number, r: number): string | null {
  return unsupportedReason(capsOf(device), gateLaunch(device.limits.maxComputeInvocationsPerWorkgroup, c, r).needs);
}

/** Reads a 1x1 HWIO filter [1, 1, I, O] or a matrix [I, O] as [I, O]; throws naming the op otherwise. */
function matrixShape(op: string, f: Tensor, what: string): [number, number] {
  const ok = f.rank === 2 || (f.rank === 4 && f.shape[0] === 1 && f.shape[1] === 1);
  if (!ok) throw new Error(`Graft ${op}: ${what} must be [I, O] or a 1x1 filter [1, 1, I, O], got ${formatShape(f.shape)}`);
  return [f.shape[f.rank - 2]!, f.shape[f.rank - 1]!];
}

function checkInference(op: string, ts: Tensor[]): void {
  if (isGradEnabled() && ts.some((t) => t.requiresGrad)) {
    throw new Error(`Graft ${op}: inference only; a gradient is being recorded through its inputs (run it under noGrad)`);
  }
}

/**
 * The squeeze-excite gate of NHWC `x` [N, H, W, C]: act_e(act_r(mean over H, W of x · reduce + reduceBias) · expand
 * + expandBias), shape [N, C], in one dispatch (two when H*W > 256). `reduce` is [C, R] (or a 1x1 filter), `expand` [R, C].
 */
export function seGate(x: Tensor, reduce: Tensor, expand: Tensor, o: SeGateOptions = {}): Tensor {
  const op = 'seGate';
  const extra = [o.reduceBias, o.expandBias].filter((t): t is Tensor => t !== undefined);
  checkFloat(op, x, reduce, expand, ...extra);
  checkSameDevice(op, x, reduce, expand, ...extra);
  checkInference(op, [x, reduce, expand, ...extra]);
  if (x.rank !== 4) throw new Error(`Graft ${op}: x must be NHWC of rank 4, got ${formatShape(x.shape)}`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [ci, r] = matrixShape(op, reduce, 'reduce');
  const [ri, co] = matrixShape(op, expand, 'expand');
  if (ci !== c || ri !== r || co !== c) {
    throw new Error(`Graft ${op}: x ${formatShape(x.shape)}, reduce ${formatShape(reduce.shape)} and expand ${formatShape(expand.shape)} do not chain as [C, R] then [R, C]`);
  }
  if (o.reduceBias && (o.reduceBias.rank !== 1 || o.reduceBias.shape[0] !== r)) throw new Error(`Graft ${op}: reduceBias ${formatShape(o.reduceBias.shape)} must be [${r}]`);
  if (o.expandBias && (o.expandBias.rank !== 1 || o.expandBias.shape[0] !== c)) throw new Error(`Graft ${op}: expandBias ${formatShape(o.expandBias.shape)} must be [${c}]`);
  const actR = o.reduceActivation ?? 'silu';
  const actE = o.expandActivation ?? 'sigmoid';
  for (const a of [actR, actE]) if (!(a in ACTIVATION_CODE)) throw new Error(`Graft ${op}: unknown activation '${a}'`);
  const d = x.device;
  const l = gateLaunch(d.limits.maxComputeInvocationsPerWorkgroup, c, r);
  const why = seGateUnsupported(d, c, r);
  if (why) throw new Error(`Graft ${op}: C = ${c}, R = ${r} cannot run on this adapter: ${why}`);
  const gate = new Tensor(d, [n, c], 'float32');
  if (gate.size === 0) return gate;
  const hw = h * w;
  const chunks = hw > POOL_CHUNK ? Math.ceil(hw / POOL_CHUNK) : 1;
  const params: GateParams = {
    n, hw, c, r, actR: ACTIVATION_CODE[actR], actE: ACTIVATION_CODE[actE], hasBr: o.reduceBias !== undefined,
    hasBe: o.expandBias !== undefined, count: hw, chunk: POOL_CHUNK, chunks, wg: l.wg, cw: l.cw, maxC: l.maxC, maxR: l.maxR,
  };
  let src = x;
  if (chunks > 1) {
    src = new Tensor(d, [n, chunks, c], 'float32');
    d.run(poolKernel, [x.buffer], [src.buffer], params);
  }
  // NOTE: an absent bias binds the reduce filter (never read) rather than the large x.
  const gp = chunks > 1 ? { ...params, hw: chunks } : params;
  d.run(gateKernel, [src.buffer, reduce.buffer, (o.reduceBias ?? reduce).buffer, expand.buffer, (o.expandBias ?? reduce).buffer], [gate.buffer], gp);
  if (src !== x) src.dispose();
  return gate;
}

/** Options of excitedPointwise. */
export interface ExcitedPointwiseOptions {
  /** Per output channel, [Cout]. */
  bias?: Tensor;
  /** Per output channel, [Cout], applied before the bias (a folded batch norm's scale). */
  outScale?: Tensor;
  /** Applied after the bias (default 'linear'). */
  activation?: ConvActivation;
  /** Added last, [N, H, W, Cout] (a skip connection). */
  residual?: Tensor;
}

/**
 * A 1x1, stride-1 conv of `x` [N, H, W, C], multiplied per (image, channel) by `gate` [N, C] first when given:
 * act((x * gate) conv filter * outScale + bias) + residual, with the multiply as matmul's A-scale prologue and the
 * scale and residual in its epilogue (one dispatch). `filter` is [1, 1, C, Cout] or [C, Cout].
 */
export function excitedPointwise(x: Tensor, gate: Tensor | null, filter: Tensor, o: ExcitedPointwiseOptions = {}): Tensor {
  const op = 'excitedPointwise';
  checkInference(op, [x, filter, ...[gate, o.bias, o.outScale, o.residual].filter((t): t is Tensor => t !== undefined && t !== null)]);
  if (x.rank !== 4) throw new Error(`Graft ${op}: x must be NHWC of rank 4, got ${formatShape(x.shape)}`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [ci, cout] = matrixShape(op, filter, 'filter');
  if (ci !== c || (gate && (gate.rank !== 2 || gate.shape[0] !== n || gate.shape[1] !== c))) {
    throw new Error(`Graft ${op}: x ${formatShape(x.shape)}, gate ${gate ? formatShape(gate.shape) : 'none'} and filter ${formatShape(filter.shape)} do not match ([N, C], [1, 1, C, Cout])`);
  }
  if (o.residual && !(o.residual.rank === 4 && o.residual.size === n * h * w * cout && o.residual.shape[3] === cout)) {
    throw new Error(`Graft ${op}: residual ${formatShape(o.residual.shape)} must be [${n}, ${h}, ${w}, ${cout}]`);
  }
  const a = reshape(x, [n * h * w, c]);
  const b = reshape(filter, [c, cout]);
  const r = o.residual ? reshape(o.residual, [n * h * w, cout]) : null;
  const y = matmul(a, b, {
    activation: o.activation ?? 'linear', ...(gate ? { aScale: gate } : {}), ...(o.bias ? { bias: o.bias } : {}),
    ...(o.outScale ? { outScale: o.outScale } : {}), ...(r ? { residual: r } : {}),
  });
  const out = reshape(y, [n, h, w, cout]);
  for (const t of [a, b, y, r]) t?.dispose();
  return out;
}
