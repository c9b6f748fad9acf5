// Float64 reference of the Keras 3 optimizer update rules and gradient clipping (plain loops, the test oracle).

/** Hyperparameters of the reference optimizer; lr may depend on the 0-based step. */
export interface RefOptimizerConfig {
  kind: 'sgd' | 'adam';
  lr: number | ((step: number) => number);
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  clipNorm?: number;
  globalClipNorm?: number;
}

function l2(xs: readonly Float64Array[]): number {
  let s = 0;
  for (const x of xs) for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

/** Keras clip_by_norm: x * clip / max(norm, clip). */
export function refClipByNorm(x: Float64Array, clip: number): Float64Array {
  const n = l2([x]);
  return x.map((v) => (v * clip) / Math.max(n, clip));
}

/** Keras clip_by_global_norm: every x times clip * min(1 / norm, 1 / clip); NaN when the norm is not finite. */
export function refClipByGlobalNorm(xs: readonly Float64Array[], clip: number): Float64Array[] {
  const n = l2(xs);
  const scale = Number.isFinite(n) ? clip * Math.min(1 / n, 1 / clip) : NaN;
  return xs.map((x) => x.map((v) => v * scale));
}

/** A stateful reference optimizer: step() updates the params in place, as applyGradients does on the GPU. */
export class RefOptimizer {
  iterations = 0;
  /** First moments (Adam) or momentum buffers (SGD), per param. */
  readonly m: Float64Array[] = [];
  /** Second moments (Adam). */
  readonly v: Float64Array[] = [];

  constructor(readonly c: RefOptimizerConfig) {}

  step(params: Float64Array[], rawGrads: readonly Float64Array[]): void {
    const c = this.c;
    const lr = typeof c.lr === 'number' ? c.lr : c.lr(this.iterations);
    let grads: Float64Array[] = rawGrads.map((g) => Float64Array.from(g));
    if (c.clipNorm !== undefined) grads = grads.map((g) => refClipByNorm(g, c.clipNorm!));
    if (c.globalClipNorm !== undefined) grads = refClipByGlobalNorm(grads, c.globalClipNorm);
    const t = this.iterations + 1;
    params.forEach((p, k) => {
      const g = grads[k]!;
      this.m[k] ??= new Float64Array(p.length);
      this.v[k] ??= new Float64Array(p.length);
      const m = this.m[k]!;
      const v = this.v[k]!;
      const wd = c.weightDecay ?? 0;
      for (let i = 0; i < p.length; i++) {
        p[i] = p[i]! * (1 - wd * lr);
        if (c.kind === 'sgd') {
          const mu = c.momentum ?? 0;
          if (mu === 0) {
            p[i] = p[i]! - lr * g[i]!;
          } else {
            m[i] = mu * m[i]! - lr * g[i]!;
            p[i] = c.nesterov ? p[i]! + mu * m[i]! - lr * g[i]! : p[i]! + m[i]!;
          }
        } else {
          const b1 = c.beta1 ?? 0.9;
          const b2 = c.beta2 ?? 0.999;
          const eps = c.epsilon ?? 1e-7;
          m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
          v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
          const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
          p[i] = p[i]! - (lrT * m[i]!) / (Math.sqrt(v[i]!) + eps);
        }
      }
    });
    this.iterations = t;
  }
}
