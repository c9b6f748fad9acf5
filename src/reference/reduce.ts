// Float64 reference for reductions.

import { ravel, refZeros, unravel, type RefTensor } from './tensor.js';

function normAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return list.map((a) => (a < 0 ? a + rank : a));
}

/** Reduces with `f` over `axes`, starting from `init`; `finish` maps (acc, count). */
function reduceWith(
  x: RefTensor,
  axes: number | readonly number[] | undefined,
  keepDims: boolean,
  init: number,
  f: (acc: number, v: number) => number,
  finish: (acc: number, count: number) => number = (a) => a,
): RefTensor {
  const ax = normAxes(axes, x.shape.length);
  const keepShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const acc = refZeros(keepShape);
  acc.data.fill(init);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((c, d) => (ax.includes(d) ? 0 : c));
    const o = ravel(idx, keepShape);
    acc.data[o] = f(acc.data[o]!, x.data[i]!);
  }
  const count = ax.reduce((p, a) => p * x.shape[a]!, 1);
  for (let o = 0; o < acc.data.length; o++) acc.data[o] = finish(acc.data[o]!, count);
  const shape = keepDims ? keepShape : x.shape.filter((_, i) => !ax.includes(i));
  return { shape, data: acc.data };
}

export const sumRef = (x: RefTensor, axes?: number | readonly number[], keepDims = false) =>
  reduceWith(x, axes, keepDims, 0, (a, v) => a + v);
export const meanRef = (x: RefTensor, axes?: number | readonly number[], keepDims = false) =>
  reduceWith(x, axes, keepDims, 0, (a, v) => a + v, (a, n) => a / n);
export const maxRef = (x: RefTensor, axes?: number | readonly number[], keepDims = false) =>
  reduceWith(x, axes, keepDims, -Infinity, (a, v) => (Number.isNaN(a) || Number.isNaN(v) ? NaN : Math.max(a, v)));
export const minRef = (x: RefTensor, axes?: number | readonly number[], keepDims = false) =>
  reduceWith(x, axes, keepDims, Infinity, (a, v) => (Number.isNaN(a) || Number.isNaN(v) ? NaN : Math.min(a, v)));

/** Index of the first max along `axis`. */
export function argmaxRef(x: RefTensor, axis: number, sign = 1): RefTensor {
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const outShape = x.shape.filter((_, i) => i !== ax);
  const out = refZeros(outShape);
  const best = new Float64Array(out.data.length).fill(-Infinity);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    const k = idx[ax]!;
    const o = ravel(idx.filter((_, d) => d !== ax), outShape);
    const v = sign * x.data[i]!;
    if (v > best[o]!) {
      best[o] = v;
      out.data[o] = k;
    }
  }
  return out;
}

export const argminRef = (x: RefTensor, axis: number) => argmaxRef(x, axis, -1);
