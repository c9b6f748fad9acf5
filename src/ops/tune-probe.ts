// The correctness probe the tuner runs for GEMM-like kernel families (matmul, conv2d, depthwise): a candidate variant
// must agree with the register variant within the reordering error of a float32 sum.

import type { Tensor } from '../tensor/tensor.js';

/**
 * A TuneJob probe: runs the register variant and `v` with `run` (on inputs in [-1, 1)) and accepts `v` when every
 * element agrees within the order error of a float32 sum of `k` products, about eps * sqrt(K) * K / 4, relative to
 * 1 + |register|.
 */
export function sumOrderProbe(run: (variant: string) => Tensor, k: number): (variant: string) => Promise<boolean> {
  const tol = 1e-5 + 2e-7 * Math.sqrt(k) * (k / 4);
  return async (v) => {
    const want = run('register');
    const got = run(v);
    const [w, g] = [(await want.data()) as Float32Array, (await got.data()) as Float32Array];
    want.dispose();
    got.dispose();
    for (let i = 0; i < w.length; i++) if (!(Math.abs(g[i]! - w[i]!) <= tol * (1 + Math.abs(w[i]!)))) return false;
    return true;
  };
}
