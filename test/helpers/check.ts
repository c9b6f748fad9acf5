// Comparisons against the float64 oracle, and gradient checks by central differences.
// Tolerance rule everywhere: |got - want| <= atol + rtol * |want| (documented per test where it differs).

import { expect } from 'vitest';
import { tensor, type Tensor } from '../../src/tensor/tensor.js';
import { numericDirectional, numericVjp, ref, refSize, type RefTensor } from '../../src/reference/index.js';
import { rng } from '../../src/tensor/tensor.js';

export interface Tol {
  atol?: number;
  rtol?: number;
}

/** Default float32-vs-float64 tolerance for forward results. */
export const FWD_TOL: Required<Tol> = { atol: 1e-5, rtol: 1e-4 };

/** Asserts element-wise closeness; the failure names the worst element. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tol = {}, label = ''): void {
  const atol = tol.atol ?? FWD_TOL.atol;
  const rtol = tol.rtol ?? FWD_TOL.rtol;
  expect(got.length, `${label} length`).toBe(want.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) {
      if (Number.isNaN(w) !== Number.isNaN(g)) {
        worst = i;
        worstExcess = Infinity;
        break;
      }
      continue;
    }
    if (g === w) continue; // covers matching infinities
    const excess = Math.abs(g - w) - (atol + rtol * Math.abs(w));
    if (excess > worstExcess || (excess > 0 && worst < 0)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`${label} mismatch at ${worst}: got ${got[worst]}, want ${want[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

/** Compares a GPU tensor with a reference tensor: shape and values. */
export async function expectTensor(t: Tensor, r: RefTensor, tol: Tol = {}, label = ''): Promise<void> {
  expect([...t.shape], `${label} shape`).toEqual(r.shape);
  expectClose(await t.data(), r.data, tol, label);
}

/** Random values in [lo, hi), rounded to float32 so GPU and oracle see the same inputs. */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = lo + (hi - lo) * r();
  return Float64Array.from(f);
}

export interface GradCase {
  /** Shapes of the op's inputs. */
  shapes: number[][];
  /** The WebGPU op under test. */
  gpu: (xs: Tensor[]) => Tensor;
  /** Its float64 reference. */
  ref: (xs: RefTensor[]) => RefTensor;
  /** Value range of each input (default [-1, 1)). */
  ranges?: [number, number][];
  /** Inputs to differentiate (default all). */
  wrt?: number[];
  /** 'full' compares every gradient element (tiny shapes); 'directional' compares <g, v> for random v. */
  mode?: 'full' | 'directional';
  /** Tolerance. Full mode: atol 2e-3, rtol 2e-3 per element. Directional: |<g,v> - cd| <= atol*sum|g v| + rtol*|cd|, atol default 1e-5. */
  tol?: Tol;
  seed?: number;
  /** Central-difference step. */
  eps?: number;
  /** Given explicit input values (e.g. to avoid kinks), instead of random ones. */
  values?: Float64Array[];
}

/**
 * Runs the GPU forward and backward with a random upstream gradient u and checks the input gradients
 * against central differences of <u, ref(x)> in float64.
 */
export async function gradCheck(c: GradCase): Promise<void> {
  const seed = c.seed ?? 1234;
  const values = c.values ?? c.shapes.map((s, i) => randomValues(refSize(s), seed + i, ...(c.ranges?.[i] ?? [-1, 1])));
  const refs = () => values.map((v, i) => ref(v, c.shapes[i]!));
  const yRef = c.ref(refs());
  const u = randomValues(yRef.data.length, seed + 100);
  const xs = values.map((v, i) => tensor(v, c.shapes[i]!, { requiresGrad: true }));
  const y = c.gpu(xs);
  expect([...y.shape], 'forward shape').toEqual(yRef.shape);
  y.backward(tensor(u, yRef.shape));
  const wrt = c.wrt ?? c.shapes.map((_, i) => i);
  const mode = c.mode ?? (values.reduce((s, v) => s + v.length, 0) <= 400 ? 'full' : 'directional');
  const atol = c.tol?.atol ?? 2e-3;
  const rtol = c.tol?.rtol ?? 2e-3;
  for (const i of wrt) {
    const g = xs[i]!.grad;
    expect(g, `input ${i} has a gradient`).not.toBeNull();
    const got = await g!.data();
    if (mode === 'full') {
      const want = numericVjp(c.ref, refs(), u, i, c.eps ?? 1e-6);
      expectClose(got, want, { atol, rtol }, `grad of input ${i}`);
    } else {
      // Two random directions, then v = g itself: <g, g> against the central difference along g catches a
      // uniformly scaled gradient, which random directions (|<g,v>| ~ sqrt(n) smaller than sum|g v|) would miss.
      const directions = [randomValues(got.length, seed + 200), randomValues(got.length, seed + 201), Float64Array.from(got)];
      for (const [trial, v] of directions.entries()) {
        const want = numericDirectional(c.ref, refs(), u, i, v, c.eps ?? 1e-6);
        let dot = 0;
        let scale = 0;
        for (let k = 0; k < got.length; k++) {
          dot += got[k]! * v[k]!;
          scale += Math.abs(got[k]! * v[k]!);
        }
        // NOTE: float32 rounding in the kernel adds at most ~1e-5 of sum|g v|; the rest is relative to the exact value.
        const bound = (c.tol?.atol ?? 1e-5) * scale + rtol * Math.abs(want) + 1e-9;
        if (Math.abs(dot - want) > bound) {
          throw new Error(`directional grad of input ${i} (direction ${trial}): <g,v> = ${dot}, central difference = ${want} (bound ${bound})`);
        }
      }
    }
  }
  for (const x of xs) {
    x.grad?.dispose();
    x.dispose();
  }
}
