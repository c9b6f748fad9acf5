// An EfficientNet-B0-shaped stack in test size (stem conv + BN + SiLU, two MBConv blocks with squeeze-excite),
// checked end to end against the same network composed from the float64 references: forward values, and gradients
// of <u, y> w.r.t. the input and several weights (directional central differences).

import { describe, it } from 'vitest';
import * as g from '../src/index.js';
import { binaryRef, conv2dRef, depthwiseConv2dRef, unaryRef, type RefTensor } from '../src/reference/index.js';
import { batchNormInferenceRef, batchNormTrainRef } from '../src/reference/batchnorm.js';
import { globalAvgPoolRef } from '../src/reference/pool.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

type Act = 'linear' | 'silu' | 'sigmoid';

/** The few operations the network needs, implemented once on the GPU and once by the float64 oracle. */
interface NetOps<T> {
  conv: (x: T, f: T, strides: number, bias?: T, act?: Act) => T;
  depthwise: (x: T, f: T, strides: number) => T;
  /** Batch normalization (layer `k`), then the activation. */
  bn: (x: T, gamma: T, beta: T, k: number, act: Act) => T;
  gap: (x: T) => T;
  mul: (a: T, b: T) => T;
  add: (a: T, b: T) => T;
}

interface BlockSpec {
  cin: number;
  expand: number;
  stride: number;
  se: number;
  cout: number;
}

const STEM = 8;
const BLOCKS: BlockSpec[] = [
  { cin: 8, expand: 2, stride: 1, se: 2, cout: 8 },
  { cin: 8, expand: 3, stride: 2, se: 2, cout: 12 },
];
const INPUT = [2, 32, 32, 3];

/** Parameter shapes in order: input, stem, then each block's expand, depthwise, squeeze-excite and project. */
function paramShapes(): { shapes: number[][]; names: string[] } {
  const shapes: number[][] = [INPUT, [3, 3, 3, STEM], [STEM], [STEM]];
  const names = ['input', 'stem.filter', 'stem.gamma', 'stem.beta'];
  BLOCKS.forEach((b, i) => {
    const e = b.cin * b.expand;
    shapes.push([1, 1, b.cin, e], [e], [e], [3, 3, e, 1], [e], [e], [1, 1, e, b.se], [b.se], [1, 1, b.se, e], [e], [1, 1, e, b.cout], [b.cout], [b.cout]);
    names.push(...['expand.filter', 'expand.gamma', 'expand.beta', 'dw.filter', 'dw.gamma', 'dw.beta', 'se.reduce', 'se.reduceBias',
      'se.expand', 'se.expandBias', 'project.filter', 'project.gamma', 'project.beta'].map((n) => `block${i}.${n}`));
  });
  return { shapes, names };
}

/** The network, written once over NetOps so that GPU and oracle compose exactly the same graph. */
function network<T>(ops: NetOps<T>, p: T[]): T {
  let k = 0;
  let bnIndex = 0;
  const next = () => p[k++]!;
  const bn = (x: T, act: Act) => ops.bn(x, next(), next(), bnIndex++, act);
  let h = bn(ops.conv(next(), next(), 2), 'silu');
  for (const b of BLOCKS) {
    const input = h;
    let t = bn(ops.conv(h, next(), 1), 'silu');
    t = bn(ops.depthwise(t, next(), b.stride), 'silu');
    const pooled = ops.gap(t);
    const reduceF = next();
    const s = ops.conv(pooled, reduceF, 1, next(), 'silu');
    const expandF = next();
    const gate = ops.conv(s, expandF, 1, next(), 'sigmoid');
    t = ops.mul(t, gate);
    t = bn(ops.conv(t, next(), 1), 'linear');
    h = b.stride === 1 && b.cin === b.cout ? ops.add(t, input) : t;
  }
  return h;
}

/** Moving statistics of BN layer k for the inference-mode network (constants, like a pretrained model's). */
function movingStats(k: number, c: number): { mean: Float64Array; variance: Float64Array } {
  return { mean: randomValues(c, 500 + 2 * k, -0.3, 0.3), variance: randomValues(c, 501 + 2 * k, 0.5, 1.5) };
}

const EPS = 1e-3;

function gpuOps(mode: 'train' | 'inference'): NetOps<g.Tensor> {
  const act = (x: g.Tensor, a: Act) => (a === 'silu' ? g.silu(x) : a === 'sigmoid' ? g.sigmoid(x) : x);
  return {
    conv: (x, f, strides, bias, a) => g.conv2d(x, f, { strides, padding: 'same', ...(bias ? { bias } : {}), activation: a ?? 'linear' }),
    depthwise: (x, f, strides) => g.depthwiseConv2d(x, f, { strides, padding: 'same' }),
    bn: (x, gamma, beta, k, a) => {
      if (mode === 'train') return act(g.batchNormTrain(x, gamma, beta, EPS).y, a);
      // NOTE: inference runs the fused path: BN folded into a per-channel scale/shift with the activation.
      const m = movingStats(k, gamma.size);
      const { scale, shift } = g.foldBatchNorm(g.tensor(m.mean, [gamma.size]), g.tensor(m.variance, [gamma.size]), gamma, beta, EPS);
      return g.scaleShift(x, scale, shift, a);
    },
    gap: (x) => g.globalAvgPool(x, { keepDims: true }),
    mul: g.mul,
    add: g.add,
  };
}

function refOps(mode: 'train' | 'inference'): NetOps<RefTensor> {
  const act = (x: RefTensor, a: Act) => (a === 'linear' ? x : unaryRef(x, a));
  return {
    conv: (x, f, strides, bias, a) => conv2dRef(x, f, { strides, padding: 'same', ...(bias ? { bias } : {}), activation: a ?? 'linear' }),
    depthwise: (x, f, strides) => depthwiseConv2dRef(x, f, { strides, padding: 'same' }),
    bn: (x, gamma, beta, k, a) => {
      if (mode === 'train') return act(batchNormTrainRef(x, gamma, beta, EPS).y, a);
      const m = movingStats(k, gamma.data.length);
      const c = gamma.data.length;
      return act(batchNormInferenceRef(x, { shape: [c], data: m.mean }, { shape: [c], data: m.variance }, gamma, beta, EPS), a);
    },
    gap: (x) => globalAvgPoolRef(x, true),
    mul: (a, b) => binaryRef(a, b, 'mul'),
    add: (a, b) => binaryRef(a, b, 'add'),
  };
}

/** Deterministic parameter values: filters scaled by fan-in, gammas near 1, small betas and biases. */
function paramValues(shapes: number[][], names: string[]): Float64Array[] {
  return shapes.map((s, i) => {
    const n = s.reduce((p, d) => p * d, 1);
    const name = names[i]!;
    if (name === 'input') return randomValues(n, 1, -1, 1);
    if (name.endsWith('gamma')) return randomValues(n, 10 + i, 0.8, 1.2);
    if (name.endsWith('beta') || name.endsWith('Bias')) return randomValues(n, 10 + i, -0.2, 0.2);
    const fanIn = s.length === 4 ? s[0]! * s[1]! * (name.includes('dw') ? 1 : s[2]!) : 1;
    const r = 1.5 / Math.sqrt(fanIn);
    return randomValues(n, 10 + i, -r, r);
  });
}

describe('MBConv stack (EfficientNet-B0 shaped, 32x32)', () => {
  const { shapes, names } = paramShapes();
  const values = paramValues(shapes, names);
  const refParams = () => values.map((v, i) => ({ shape: [...shapes[i]!], data: Float64Array.from(v) }));
  // Input, stem filter and gamma, block 0 depthwise filter and SE reduce weights, block 1 expand gamma, SE expand
  // bias and project filter and beta.
  const wrt = ['input', 'stem.filter', 'stem.gamma', 'block0.dw.filter', 'block0.se.reduce', 'block1.expand.gamma',
    'block1.se.expandBias', 'block1.project.filter', 'block1.project.beta'].map((n) => names.indexOf(n));

  for (const mode of ['train', 'inference'] as const) {
    it(`${mode}-mode forward matches the float64 composition`, async () => {
      const y = g.tidy(() => network(gpuOps(mode), values.map((v, i) => g.tensor(v, shapes[i]!))));
      const yRef = network(refOps(mode), refParams());
      await expectTensor(y, yRef, { atol: 2e-4, rtol: 1e-3 }, `${mode} forward`);
    });

    it(`${mode}-mode gradients w.r.t. the input and several weights match central differences (directional)`, async () => {
      await gradCheck({
        shapes,
        values,
        gpu: (xs) => network(gpuOps(mode), xs),
        ref: (xs) => network(refOps(mode), xs),
        wrt,
        mode: 'directional',
        tol: { atol: 2e-3, rtol: 2e-3 },
      });
    });
  }
});
