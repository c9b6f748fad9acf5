// Float64 reference for softmax, log-softmax and the cross-entropy losses, straight from their definitions.

import { refZeros, unravel, type RefTensor } from './tensor.js';

/** Flat indices of every row along `axis`: one list per combination of the other coordinates. */
function rowsOf(shape: readonly number[], axis: number): number[][] {
  const ax = axis < 0 ? axis + shape.length : axis;
  const rows = new Map<string, number[]>();
  const n = shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    idx[ax] = 0;
    const key = idx.join(',');
    if (!rows.has(key)) rows.set(key, []);
    rows.get(key)!.push(i);
  }
  return [...rows.values()];
}

function logSumExp(v: readonly number[]): number {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
}

export function softmaxRef(x: RefTensor, axis = -1): RefTensor {
  const out = refZeros(x.shape);
  for (const row of rowsOf(x.shape, axis)) {
    const lse = logSumExp(row.map((i) => x.data[i]!));
    for (const i of row) out.data[i] = Math.exp(x.data[i]! - lse);
  }
  return out;
}

export function logSoftmaxRef(x: RefTensor, axis = -1): RefTensor {
  const out = refZeros(x.shape);
  for (const row of rowsOf(x.shape, axis)) {
    const lse = logSumExp(row.map((i) => x.data[i]!));
    for (const i of row) out.data[i] = x.data[i]! - lse;
  }
  return out;
}

/** Per-row loss over the last axis from a function of (row values, row index). */
function perRow(x: RefTensor, f: (v: number[], r: number) => number): RefTensor {
  const c = x.shape[x.shape.length - 1]!;
  const out = refZeros(x.shape.slice(0, -1));
  for (let r = 0; r < out.data.length; r++) out.data[r] = f(Array.from(x.data.subarray(r * c, r * c + c)), r);
  return out;
}

/** -sum(labels * log_softmax(logits)) over the last axis. */
export function softmaxCrossEntropyRef(logits: RefTensor, labels: RefTensor): RefTensor {
  const c = logits.shape[logits.shape.length - 1]!;
  return perRow(logits, (v, r) => {
    const lse = logSumExp(v);
    return v.reduce((s, x, j) => s - labels.data[r * c + j]! * (x - lse), 0);
  });
}

const clip = (p: number, eps: number) => Math.min(Math.max(p, eps), 1 - eps);

/** Keras: probs / sum(probs), clipped to [eps, 1 - eps], then -sum(labels * log). */
export function categoricalCrossentropyRef(probs: RefTensor, labels: RefTensor, eps = 1e-7): RefTensor {
  const c = probs.shape[probs.shape.length - 1]!;
  return perRow(probs, (v, r) => {
    const s = v.reduce((a, b) => a + b, 0);
    return v.reduce((acc, p, j) => acc - labels.data[r * c + j]! * Math.log(clip(p / s, eps)), 0);
  });
}

/** Cross-entropy from logits with class ids; an id outside [0, classes) gives NaN. */
export function sparseSoftmaxCrossEntropyRef(logits: RefTensor, ids: RefTensor): RefTensor {
  return perRow(logits, (v, r) => {
    const k = ids.data[r]!;
    return k >= 0 && k < v.length ? logSumExp(v) - v[k]! : NaN;
  });
}

/** -log(clip(p_k / sum(p))) with class ids; an id outside [0, classes) gives NaN. */
export function sparseCategoricalCrossentropyRef(probs: RefTensor, ids: RefTensor, eps = 1e-7): RefTensor {
  return perRow(probs, (v, r) => {
    const k = ids.data[r]!;
    if (!(k >= 0 && k < v.length)) return NaN;
    return -Math.log(clip(v[k]! / v.reduce((a, b) => a + b, 0), eps));
  });
}
