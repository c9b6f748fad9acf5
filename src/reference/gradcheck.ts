// Central differences of float64 reference functions: the expected gradients for every backward kernel.

import { refSize, type RefTensor } from './tensor.js';

/** L(xs) = <u, f(xs)>: the scalar whose gradient is the vector-Jacobian product J^T u. */
function innerWith(f: (xs: RefTensor[]) => RefTensor, u: Float64Array): (xs: RefTensor[]) => number {
  return (xs) => {
    const y = f(xs);
    if (y.data.length !== u.length) throw new Error(`gradcheck: output has ${y.data.length} elements, u has ${u.length}`);
    let s = 0;
    for (let i = 0; i < u.length; i++) s += u[i]! * y.data[i]!;
    return s;
  };
}

/** Full gradient of <u, f(xs)> w.r.t. input `which`, one central difference per element (tiny shapes). */
export function numericVjp(f: (xs: RefTensor[]) => RefTensor, xs: RefTensor[], u: Float64Array, which: number, eps = 1e-6): Float64Array {
  const L = innerWith(f, u);
  const x = xs[which]!;
  const g = new Float64Array(refSize(x.shape));
  for (let i = 0; i < g.length; i++) {
    const orig = x.data[i]!;
    x.data[i] = orig + eps;
    const lp = L(xs);
    x.data[i] = orig - eps;
    const lm = L(xs);
    x.data[i] = orig;
    g[i] = (lp - lm) / (2 * eps);
  }
  return g;
}

/** Directional derivative of <u, f(xs)> along `v` in input `which`: equals <J^T u, v> (realistic shapes). */
export function numericDirectional(
  f: (xs: RefTensor[]) => RefTensor,
  xs: RefTensor[],
  u: Float64Array,
  which: number,
  v: Float64Array,
  eps = 1e-6,
): number {
  const L = innerWith(f, u);
  const x = xs[which]!;
  const orig = Float64Array.from(x.data);
  for (let i = 0; i < v.length; i++) x.data[i] = orig[i]! + eps * v[i]!;
  const lp = L(xs);
  for (let i = 0; i < v.length; i++) x.data[i] = orig[i]! - eps * v[i]!;
  const lm = L(xs);
  x.data.set(orig);
  return (lp - lm) / (2 * eps);
}
