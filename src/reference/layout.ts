// Float64 reference for layout ops, computed element by element from multi-indices.

import { ravel, refZeros, unravel, type RefTensor } from './tensor.js';

/** out[idx] = x[idx permuted]: output dim d is input dim perm[d]. */
export function transposeRef(x: RefTensor, perm?: readonly number[]): RefTensor {
  const p = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  const out = refZeros(p.map((a) => x.shape[a]!));
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, out.shape);
    const src = new Array<number>(x.shape.length);
    p.forEach((a, d) => (src[a] = idx[d]!));
    out.data[i] = x.data[ravel(src, x.shape)]!;
  }
  return out;
}

export function sliceRef(x: RefTensor, begin: readonly number[], size: readonly number[]): RefTensor {
  const shape = size.map((s, i) => (s === -1 ? x.shape[i]! - begin[i]! : s));
  const out = refZeros(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape).map((c, d) => c + begin[d]!);
    out.data[i] = x.data[ravel(idx, x.shape)]!;
  }
  return out;
}

export function padRef(x: RefTensor, paddings: readonly (readonly [number, number])[], value = 0): RefTensor {
  const out = refZeros(x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]));
  out.data.fill(value);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((c, d) => c + paddings[d]![0]);
    out.data[ravel(idx, out.shape)] = x.data[i]!;
  }
  return out;
}

export function concatRef(xs: readonly RefTensor[], axis: number): RefTensor {
  const rank = xs[0]!.shape.length;
  const ax = axis < 0 ? axis + rank : axis;
  const shape = [...xs[0]!.shape];
  shape[ax] = xs.reduce((s, x) => s + x.shape[ax]!, 0);
  const out = refZeros(shape);
  let offset = 0;
  for (const x of xs) {
    for (let i = 0; i < x.data.length; i++) {
      const idx = unravel(i, x.shape);
      idx[ax] = idx[ax]! + offset;
      out.data[ravel(idx, shape)] = x.data[i]!;
    }
    offset += x.shape[ax]!;
  }
  return out;
}

export function stackRef(xs: readonly RefTensor[], axis: number): RefTensor {
  const rank = xs[0]!.shape.length + 1;
  const ax = axis < 0 ? axis + rank : axis;
  const shape = [...xs[0]!.shape.slice(0, ax), xs.length, ...xs[0]!.shape.slice(ax)];
  const out = refZeros(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    const k = idx[ax]!;
    idx.splice(ax, 1);
    out.data[i] = xs[k]!.data[ravel(idx, xs[k]!.shape)]!;
  }
  return out;
}

export function broadcastToRef(x: RefTensor, shape: readonly number[]): RefTensor {
  const out = refZeros(shape);
  const lead = shape.length - x.shape.length;
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape).slice(lead).map((c, d) => (x.shape[d] === 1 ? 0 : c));
    out.data[i] = x.data[ravel(idx, x.shape)]!;
  }
  return out;
}

/** Rows of `off` with `on` at the index; indices outside [0, depth) give all `off`. */
export function oneHotRef(indices: RefTensor, depth: number, on = 1, off = 0): RefTensor {
  const out = refZeros([...indices.shape, depth]);
  for (let i = 0; i < indices.data.length; i++) {
    for (let j = 0; j < depth; j++) out.data[i * depth + j] = indices.data[i] === j ? on : off;
  }
  return out;
}
