// Layout ops: transpose, slice, pad, concat, stack, broadcastTo and oneHot, all through one strided-copy kernel.

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { recordOp, Tensor } from '../tensor/tensor.js';
import { checkRank, formatShape, sizeOf, stridesOf } from '../tensor/shape.js';
import { sumToShape } from './reduce.js';
import { checkSameDevice } from './checks.js';

const WG = 64;
const PER_THREAD = 4;

interface GatherParams {
  /** Elements in the box. */
  n: number;
  shape: number[];
  istr: number[];
  ostr: number[];
  lo: number[];
  ishape: number[];
  obase: number;
  /** Fill word (raw bits) for positions outside the input. */
  fill: number;
  dense: boolean;
  check: boolean;
}

const gatherKernel = defineKernel<GatherParams>({
  name: 'gather',
  shader: 'layout',
  entryPoint: 'gather',
  inputs: 1,
  outputs: 1,
  constants: (p) => ({ WG, DENSE_OUT: p.dense ? 1 : 0, CHECK_BOUNDS: p.check ? 1 : 0 }),
  uniforms: (p) =>
    new Uniforms()
      .u32(p.n, p.shape.length, p.obase, p.fill)
      .vec4u(p.shape, 2, 1)
      .vec4u(p.istr, 2)
      .vec4u(p.ostr, 2)
      .vec4u(p.lo, 2)
      .vec4u(p.ishape, 2, 1),
  workgroups: (p) => grid(Math.ceil(p.n / (WG * PER_THREAD))),
});

// NOTE: same bindings and uniforms as gather; rows of >= 8 elements amortize the index decoding over the row.
const gatherRowsKernel = defineKernel<GatherParams>({
  name: 'gather_rows',
  shader: 'layout',
  entryPoint: 'gather_rows',
  inputs: 1,
  outputs: 1,
  constants: (p) => ({ CHECK_BOUNDS: p.check ? 1 : 0 }),
  uniforms: gatherKernel.uniforms,
  workgroups: (p) => grid(Math.ceil(p.n / p.shape[p.shape.length - 1]! / 8)),
});

/**
 * Drops size-1 dims and merges a dim into its outer neighbour when the inner one is copied whole (no offset, full
 * extent) and both strides continue, so [N,H,W,C] padded in H and W keeps 4 dims but a slice of whole rows becomes 1-D.
 */
function coalesceBox(p: GatherParams): GatherParams {
  const keep = p.shape.map((d, i) => d !== 1 || p.ishape[i] !== 1 || p.lo[i] !== 0);
  const pick = <T>(a: T[]) => a.filter((_, i) => keep[i]);
  const q = { ...p, shape: pick(p.shape), istr: pick(p.istr), ostr: pick(p.ostr), lo: pick(p.lo), ishape: pick(p.ishape) };
  for (let d = q.shape.length - 1; d > 0; d--) {
    const whole = q.lo[d] === 0 && q.shape[d] === q.ishape[d];
    const contiguous = q.istr[d - 1] === q.istr[d]! * q.shape[d]! && q.ostr[d - 1] === q.ostr[d]! * q.shape[d]!;
    if (!whole || !contiguous) continue;
    q.lo[d - 1] = q.lo[d - 1]! * q.shape[d]!;
    q.ishape[d - 1] = q.ishape[d - 1]! * q.ishape[d]!;
    q.istr[d - 1] = q.istr[d]!;
    q.ostr[d - 1] = q.ostr[d]!;
    q.shape[d - 1] = q.shape[d - 1]! * q.shape[d]!;
    for (const a of [q.shape, q.istr, q.ostr, q.lo, q.ishape]) a.splice(d, 1);
  }
  return q;
}

/** Runs the box copy with the row kernel when rows are long enough, else element by element. */
function runGather(device: Tensor['device'], x: Tensor, out: Tensor, params: GatherParams): void {
  const p = coalesceBox(params);
  const inner = p.shape[p.shape.length - 1] ?? 0;
  if (p.shape.length > 0 && inner >= 8) device.run(gatherRowsKernel, [x.buffer], [out.buffer], p);
  else device.run(gatherKernel, [x.buffer], [out.buffer], p);
}

interface OneHotParams {
  n: number;
  depth: number;
  on: number;
  off: number;
}

const oneHotKernel = defineKernel<OneHotParams>({
  name: 'one_hot',
  shader: 'layout',
  entryPoint: 'one_hot',
  inputs: 1,
  outputs: 1,
  constants: () => ({ WG }),
  uniforms: (p) => new Uniforms().u32(p.n, p.depth).f32(p.on, p.off),
  workgroups: (p) => grid(Math.ceil(p.n / (WG * PER_THREAD))),
});

/** The raw 32-bit word of `value` in `dtype` (the gather kernel moves words, not numbers). */
function fillBits(value: number, dtype: Tensor['dtype']): number {
  const buf = new ArrayBuffer(4);
  if (dtype === 'int32') new Int32Array(buf)[0] = value;
  else new Float32Array(buf)[0] = value;
  return new Uint32Array(buf)[0]!;
}

/** Strided copy of a box of `x` into a new dense tensor of shape `shape` (no recording). */
function gather(x: Tensor, shape: number[], istr: number[], lo: number[], ishape: number[], fill = 0): Tensor {
  const out = new Tensor(x.device, shape, x.dtype);
  const check = lo.some((l, d) => l < 0 || l + shape[d]! > ishape[d]!);
  runGather(x.device, x, out, {
    n: out.size, shape, istr, ostr: stridesOf(shape), lo, ishape, obase: 0, fill: fillBits(fill, x.dtype), dense: true, check,
  });
  return out;
}

function rawTranspose(x: Tensor, perm: readonly number[]): Tensor {
  const strides = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  return gather(x, shape, perm.map((p) => strides[p]!), shape.map(() => 0), shape);
}

function rawSlice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  return gather(x, [...size], stridesOf(x.shape), [...begin], [...x.shape]);
}

function rawPad(x: Tensor, paddings: readonly (readonly [number, number])[], value: number): Tensor {
  const shape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
  return gather(x, shape, stridesOf(x.shape), paddings.map((p) => -p[0]), [...x.shape], value);
}

/** Permutes dimensions; `perm` defaults to reversing them. Backward: transpose by the inverse permutation. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  checkRank('transpose', x.shape);
  const p = perm ? [...perm] : [...Array(x.rank).keys()].reverse();
  const valid = p.length === x.rank && p.every((a) => Number.isInteger(a) && a >= 0 && a < x.rank) && new Set(p).size === p.length;
  if (!valid) throw new Error(`Graft transpose: perm [${p.join(',')}] is not a permutation of the axes of shape ${formatShape(x.shape)}`);
  const out = rawTranspose(x, p);
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return recordOp(out, [x], 'transpose', (g) => [rawTranspose(g, inv)]);
}

/** Takes `size` elements from `begin` along each dim (size -1: to the end). Backward: zero-pad the gradient. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  checkRank('slice', x.shape);
  const bad = (why: string) =>
    new Error(`Graft slice: begin [${begin.join(',')}] size [${(size ?? []).join(',')}] ${why} for shape ${formatShape(x.shape)}`);
  if (begin.length !== x.rank || (size && size.length !== x.rank)) throw bad('must have one entry per dim');
  const sz = x.shape.map((d, i) => {
    const b = begin[i]!;
    const s = size ? size[i]! : -1;
    const n = s === -1 ? d - b : s;
    if (!Number.isInteger(b) || !Number.isInteger(n) || b < 0 || n < 0 || b + n > d) throw bad(`is out of bounds on dim ${i}`);
    return n;
  });
  const out = rawSlice(x, begin, sz);
  return recordOp(out, [x], 'slice', (g) => [rawPad(g, x.shape.map((d, i) => [begin[i]!, d - begin[i]! - sz[i]!] as const), 0)]);
}

/** Pads with a constant: paddings[d] = [before, after] (both >= 0). Backward: slice the gradient. */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  checkRank('pad', x.shape);
  const ok = paddings.length === x.rank && paddings.every((p) => p.length === 2 && p.every((v) => Number.isInteger(v) && v >= 0));
  if (!ok) {
    throw new Error(`Graft pad: paddings ${JSON.stringify(paddings)} must be one [before, after] pair of non-negative integers per dim of shape ${formatShape(x.shape)}`);
  }
  const out = rawPad(x, paddings, value);
  return recordOp(out, [x], 'pad', (g) => [rawSlice(g, paddings.map((p) => p[0]), [...x.shape])]);
}

/** Joins tensors along `axis`; all other dims must match. Backward: slices of the gradient. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('Graft concat: needs at least one tensor');
  const first = xs[0]!;
  const all = xs.map((x) => formatShape(x.shape)).join(', ');
  const rank = first.rank;
  if (rank === 0 || !Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`Graft concat: axis ${axis} is out of range for shapes ${all}`);
  }
  const ax = axis < 0 ? axis + rank : axis;
  for (const x of xs) {
    if (x.rank !== rank) throw new Error(`Graft concat: ranks differ in shapes ${all}`);
    if (x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`Graft concat: shapes ${all} differ outside axis ${axis}`);
    }
  }
  return joinAlong('concat', xs, xs.map((x) => [...x.shape]), ax);
}

/** Stacks same-shape tensors along a new axis. Backward: slices of the gradient. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('Graft stack: needs at least one tensor');
  const rank = xs[0]!.rank + 1;
  const all = xs.map((x) => formatShape(x.shape)).join(', ');
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new Error(`Graft stack: axis ${axis} is out of range for shapes ${all}`);
  const ax = axis < 0 ? axis + rank : axis;
  if (xs.some((x) => x.rank !== xs[0]!.rank || x.shape.some((d, i) => d !== xs[0]!.shape[i]))) {
    throw new Error(`Graft stack: shapes ${all} differ`);
  }
  return joinAlong('stack', xs, xs.map((x) => [...x.shape.slice(0, ax), 1, ...x.shape.slice(ax)]), ax);
}

/** Copies each input, seen with shape `views[k]` (same size), into its region of the output along `ax`. */
function joinAlong(op: string, xs: readonly Tensor[], views: number[][], ax: number): Tensor {
  const first = xs[0]!;
  checkSameDevice(op, ...xs);
  checkRank(op, views[0]!);
  if (xs.some((x) => x.dtype !== first.dtype)) {
    throw new Error(`Graft ${op}: dtypes differ in ${xs.map((x) => `${x.dtype} ${formatShape(x.shape)}`).join(', ')}`);
  }
  const shape = [...views[0]!];
  shape[ax] = views.reduce((s, v) => s + v[ax]!, 0);
  const out = new Tensor(first.device, shape, first.dtype);
  const ostr = stridesOf(shape);
  const offsets: number[] = [];
  let at = 0;
  xs.forEach((x, k) => {
    const v = views[k]!;
    offsets.push(at);
    runGather(first.device, x, out, {
      n: x.size, shape: v, istr: stridesOf(v), ostr, lo: v.map(() => 0), ishape: v, obase: at * ostr[ax]!, fill: 0, dense: false, check: false,
    });
    at += v[ax]!;
  });
  return recordOp(out, [...xs], op, (g, needs) =>
    xs.map((x, k) => {
      if (!needs[k]) return null;
      const part = rawSlice(g, shape.map((_, i) => (i === ax ? offsets[k]! : 0)), views[k]!);
      // NOTE: a free view back to the input's own shape (they differ for stack).
      const grad = new Tensor(part.device, x.shape, part.dtype, part);
      part.dispose();
      return grad;
    }),
  );
}

/** Broadcasts to `shape` with NumPy rules (a copy). Backward: sum the gradient back to x's shape. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const target = [...shape];
  checkRank('broadcastTo', target);
  const lead = target.length - x.rank;
  const ok = lead >= 0 && x.shape.every((d, i) => d === target[lead + i] || d === 1);
  if (!ok) throw new Error(`Graft broadcastTo: shape ${formatShape(x.shape)} cannot be broadcast to ${formatShape(target)}`);
  const strides = stridesOf(x.shape);
  const istr = target.map((d, i) => (i < lead || (x.shape[i - lead] === 1 && d !== 1) ? 0 : strides[i - lead]!));
  const out = gather(x, target, istr, target.map(() => 0), target);
  return recordOp(out, [x], 'broadcastTo', (g) => [sumToShape(g, x.shape)]);
}

/**
 * One-hot encodes int32 indices: output shape [...indices.shape, depth], float32. An index outside [0, depth)
 * gives a row of `off` (TensorFlow's rule). No gradient.
 */
export function oneHot(indices: Tensor, depth: number, on = 1, off = 0): Tensor {
  if (indices.dtype !== 'int32') {
    throw new Error(`Graft oneHot: indices must be int32, got ${indices.dtype} ${formatShape(indices.shape)}`);
  }
  if (!Number.isInteger(depth) || depth < 1) throw new Error(`Graft oneHot: depth ${depth} must be a positive integer (indices ${formatShape(indices.shape)})`);
  const shape = [...indices.shape, depth];
  checkRank('oneHot', shape);
  const out = new Tensor(indices.device, shape, 'float32');
  indices.device.run(oneHotKernel, [indices.buffer], [out.buffer], { n: sizeOf(shape), depth, on, off });
  return out;
}
