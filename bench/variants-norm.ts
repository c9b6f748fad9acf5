// Correctness probes of the batch-norm, pooling and optimizer variant families for bench/variants.ts: each forced
// variant against the float64 reference (src/reference/) on shapes with scalar and vec4 lanes and chunked passes.

import * as g from '../src/index.js';
import { channelMomentsRef, normalizeRef } from '../src/reference/batchnorm.js';
import { ref } from '../src/reference/index.js';
import { RefOptimizer } from '../src/reference/optimizers.js';
import { avgPool2dRef, globalAvgPoolRef, maxPool2dRef } from '../src/reference/pool.js';
import { adam } from '../src/train/optimizers/index.js';

const sizeOf = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Largest |got - want| - (atol + rtol |want|); positive means out of bound. */
function excess(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): number {
  let worst = -Infinity;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - (atol + rtol * Math.abs(want[i]!)));
  return worst;
}

function fail(family: string, variant: string, what: string, by: number): never {
  throw new Error(`${family} variant '${variant}' is wrong on ${what}: exceeds its bound by ${by}`);
}

const siluRef = (z: number) => z / (1 + Math.exp(-z));
const siluGradRef = (z: number) => {
  const sg = 1 / (1 + Math.exp(-z));
  return sg * (1 + z * (1 - sg));
};

/**
 * Training statistics, output, and the backward sums dbeta = sum dz, dgamma = sum dz * xhat per channel, plain
 * (dz = dy) and with silu fused (dz = dy * silu'(z), the reductions' MODE 2).
 */
export async function probeBatchnorm(variant: string, quick: boolean): Promise<string> {
  const shapes = quick ? [[2, 33, 17, 6], [4, 32, 32, 8]] : [[2, 33, 17, 6], [4, 32, 32, 8], [8, 56, 56, 24], [2, 9, 9, 70]];
  let seed = 100;
  for (const s of shapes) {
    for (const act of [undefined, 'silu'] as const) {
      const c = s[3]!;
      const x = g.randomUniform(s, 1, 5, { seed: seed++ }).requireGrad();
      const gamma = g.randomUniform([c], 0.5, 1.5, { seed: seed++ }).requireGrad();
      const beta = g.randomUniform([c], -1, 1, { seed: seed++ }).requireGrad();
      const dy = g.randomUniform(s, -1, 1, { seed: seed++ });
      const [xs, gs, bs, dys] = await Promise.all([x, gamma, beta, dy].map(async (t) => Float64Array.from(await t.data())));
      const mom = channelMomentsRef(ref(xs!, s));
      const out = g.batchNormTrain(x, gamma, beta, 1e-3, act);
      const z = normalizeRef(ref(xs!, s), mom.mean, mom.variance, ref(gs!, [c]), ref(bs!, [c]), 1e-3).data;
      const what = `[${s}]${act ? ` + ${act}` : ''}`;
      let e = excess(await out.mean.data(), mom.mean.data, 1e-6, 1e-5);
      if (e > 0) fail('batchnorm', variant, `${what} mean`, e);
      e = excess(await out.variance.data(), mom.variance.data, 1e-6, 1e-4);
      if (e > 0) fail('batchnorm', variant, `${what} variance`, e);
      e = excess(await out.y.data(), act ? z.map(siluRef) : z, 1e-4, 1e-4);
      if (e > 0) fail('batchnorm', variant, `${what} y`, e);
      out.y.backward(dy);
      const dbeta = new Float64Array(c);
      const dgamma = new Float64Array(c);
      for (let i = 0; i < xs!.length; i++) {
        const k = i % c;
        const dz = dys![i]! * (act ? siluGradRef(z[i]!) : 1);
        dbeta[k] = dbeta[k]! + dz;
        dgamma[k] = dgamma[k]! + (dz * (xs![i]! - mom.mean.data[k]!)) / Math.sqrt(mom.variance.data[k]! + 1e-3);
      }
      // NOTE: a float32 sum of M = N*H*W terms of size ~1 is good to ~1e-7 * M.
      const tol = 1e-6 * (sizeOf(s) / c);
      e = excess(await beta.grad!.data(), dbeta, tol, 1e-4);
      if (e > 0) fail('batchnorm', variant, `${what} dbeta`, e);
      e = excess(await gamma.grad!.data(), dgamma, tol, 1e-4);
      if (e > 0) fail('batchnorm', variant, `${what} dgamma`, e);
      for (const t of [x, gamma, beta, dy, out.y, out.mean, out.variance, x.grad, gamma.grad, beta.grad]) t?.dispose();
    }
  }
  return `${shapes.length} shapes, plain and with silu fused, within bound`;
}

/** Global average pooling forward on one-pass and chunked maps, scalar and vec4 lanes; max/avg pooling 3x3/2. */
export async function probePool(variant: string, quick: boolean): Promise<string> {
  const shapes = quick ? [[2, 7, 7, 5], [2, 56, 56, 24]] : [[2, 7, 7, 5], [2, 56, 56, 24], [8, 7, 7, 1280], [4, 112, 112, 6]];
  let seed = 200;
  for (const s of shapes) {
    const x = g.randomUniform(s, -1, 1, { seed: seed++ });
    const want = globalAvgPoolRef(ref(Float64Array.from(await x.data()), s));
    const y = g.globalAvgPool(x);
    const e = excess(await y.data(), want.data, 1e-6, 1e-5);
    x.dispose();
    y.dispose();
    if (e > 0) fail('pool', variant, `[${s}]`, e);
  }
  const o = { poolSize: 3, strides: 2, padding: 'same' } as const;
  for (const s of quick ? [[1, 17, 17, 5]] : [[1, 17, 17, 5], [2, 56, 56, 64]]) {
    const x = g.randomUniform(s, -1, 1, { seed: seed++ });
    const xr = ref(Float64Array.from(await x.data()), s);
    const [mx, av] = [g.maxPool2d(x, o), g.avgPool2d(x, o)];
    let e = excess(await mx.data(), maxPool2dRef(xr, o).data, 0, 0);
    if (e > 0) fail('pool', variant, `max pool [${s}]`, e);
    e = excess(await av.data(), avgPool2dRef(xr, o).data, 1e-6, 1e-5);
    if (e > 0) fail('pool', variant, `avg pool [${s}]`, e);
    for (const t of [x, mx, av]) t.dispose();
  }
  return `${shapes.length} global and ${quick ? 1 : 2} windowed shapes within bound`;
}

/** Three Adam steps on lengths with and without a partial last vec4, against the float64 reference optimizer. */
export async function probeOptimizer(variant: string, quick: boolean): Promise<string> {
  const lengths = quick ? [37, 1024] : [1, 37, 1024, 100003];
  const params = lengths.map((n, k) => g.randomUniform([n], -1, 1, { seed: 300 + k }));
  const refParams = await Promise.all(params.map(async (p) => Float64Array.from(await p.data())));
  const opt = adam({ learningRate: 0.01 });
  const reference = new RefOptimizer({ kind: 'adam', lr: 0.01 });
  for (let step = 0; step < 3; step++) {
    const grads = lengths.map((n, k) => g.randomUniform([n], -1, 1, { seed: 400 + 10 * step + k }));
    const gv = await Promise.all(grads.map(async (t) => Float64Array.from(await t.data())));
    opt.applyGradients(params.map((param, k) => ({ param, grad: grads[k]!, name: `w${k}` })));
    reference.step(refParams, gv);
    grads.forEach((t) => t.dispose());
  }
  for (let k = 0; k < params.length; k++) {
    const e = excess(await params[k]!.data(), refParams[k]!, 2e-6, 2e-5);
    if (e > 0) fail('optimizer', variant, `length ${lengths[k]}`, e);
  }
  params.forEach((t) => t.dispose());
  opt.dispose();
  return `${lengths.length} lengths x 3 Adam steps within bound`;
}
