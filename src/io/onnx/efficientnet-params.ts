// EfficientNet-B0 architecture and seeded random weights in ONNX layout (OIHW), made well-conditioned: each
// BatchNormalization's moving statistics are set to the mean and variance its input is expected to have
// (propagated per channel from a unit-normal input), so activations stay near N(beta, gamma^2) through all 16 blocks.
// NOTE: the calibration holds for inputs that are ~N(0,1) after the model's own preprocessing (white noise or
// images standardized per channel); like any random deep net, inputs far from that (e.g. uniform 0..255 pixels in
// the Keras style, whose normalized mean is off by 0.2 and variance by 1.7x) drift by 10-30x through the blocks.

/** One stage of MBConv blocks (EfficientNet-B0, Tan & Le 2019, table 1). */
export interface StageSpec {
  /** Expansion ratio of the first 1x1 conv (1 = no expansion conv). */
  expand: number;
  /** Depthwise kernel size. */
  kernel: number;
  /** Stride of the first block. */
  stride: number;
  /** Output channels. */
  channels: number;
  /** Number of blocks. */
  repeats: number;
}

/** The B0 stages 1..7; stem 32 channels before them, a 1280-channel 1x1 conv after them. */
export const B0_STAGES: readonly StageSpec[] = [
  { expand: 1, kernel: 3, stride: 1, channels: 16, repeats: 1 },
  { expand: 6, kernel: 3, stride: 2, channels: 24, repeats: 2 },
  { expand: 6, kernel: 5, stride: 2, channels: 40, repeats: 2 },
  { expand: 6, kernel: 3, stride: 2, channels: 80, repeats: 3 },
  { expand: 6, kernel: 5, stride: 1, channels: 112, repeats: 3 },
  { expand: 6, kernel: 5, stride: 2, channels: 192, repeats: 4 },
  { expand: 6, kernel: 3, stride: 1, channels: 320, repeats: 1 },
];
export const B0_STEM_CHANNELS = 32;
export const B0_HEAD_CHANNELS = 1280;
const SE_RATIO = 0.25;
const SE_GATE_BIAS = 2;

/** A convolution in ONNX layout. */
export interface ConvParams {
  /** Weight [out, in/group, k, k]. */
  weight: Float32Array;
  /** Weight dims. */
  dims: [number, number, number, number];
  /** Bias [out], or null. */
  bias: Float32Array | null;
  /** Channel groups (= channels for depthwise). */
  group: number;
  /** Stride (both axes). */
  stride: number;
}

/** BatchNormalization parameters (inference form). */
export interface BnParams {
  /** Epsilon added to the variance (torchvision 1e-5, Keras 1e-3). */
  epsilon: number;
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
}

/** A conv followed by BatchNormalization. */
export interface ConvBn {
  /** The convolution (without bias). */
  conv: ConvParams;
  /** Its BatchNormalization. */
  bn: BnParams;
}

/** One MBConv block. */
export interface BlockParams {
  /** Keras-style name, e.g. 'block2a'. */
  name: string;
  /** Stage index 0..6 and block index within the stage. */
  stage: number;
  index: number;
  /** 1x1 expansion (null when the expansion ratio is 1). */
  expand: ConvBn | null;
  /** Depthwise k x k conv. */
  depthwise: ConvBn;
  /** Squeeze-excite 1x1 convs with bias: reduce to max(1, in/4) channels, then back. */
  seReduce: ConvParams;
  seExpand: ConvParams;
  /** 1x1 projection (no activation). */
  project: ConvBn;
  /** Whether the block adds its input (stride 1 and same channels). */
  residual: boolean;
}

/** All weights of a B0-shaped network. */
export interface B0Params {
  stem: ConvBn;
  blocks: BlockParams[];
  top: ConvBn;
  /** Classifier weight [classes, 1280] (torch Linear layout) and bias. */
  dense: { weight: Float32Array; bias: Float32Array; classes: number };
}

/** Seeded generator of uniform and normal numbers (mulberry32 + Box-Muller). */
export class Random {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  uniform(lo = 0, hi = 1): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }

  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return mean + std * s;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }
}

/** Per-channel mean and variance of an activation, as expected over inputs and positions. */
interface Stats {
  mean: Float64Array;
  variance: Float64Array;
}

/** Makes B0 weights for `classes` outputs from `seed`. */
export function makeB0Params(seed: number, classes = 1000, bnEpsilon = 1e-3): B0Params {
  const rnd = new Random(seed);
  let stats: Stats = { mean: new Float64Array(3), variance: new Float64Array(3).fill(1) };
  const convBn = (cin: number, cout: number, k: number, stride: number, group: number, act: boolean): ConvBn => {
    const conv = randomConv(rnd, cin, cout, k, stride, group, false);
    const pre = convStats(conv, stats);
    const bn = calibratedBn(rnd, pre, bnEpsilon);
    stats = bnStats(bn, pre);
    if (act) stats = siluStats(stats);
    return { conv, bn };
  };
  const stem = convBn(3, B0_STEM_CHANNELS, 3, 2, 1, true);
  const blocks: BlockParams[] = [];
  let cin = B0_STEM_CHANNELS;
  B0_STAGES.forEach((s, stage) => {
    for (let index = 0; index < s.repeats; index++) {
      const stride = index === 0 ? s.stride : 1;
      const input = stats;
      const mid = cin * s.expand;
      const expand = s.expand === 1 ? null : convBn(cin, mid, 1, 1, 1, true);
      const depthwise = convBn(mid, mid, s.kernel, stride, mid, true);
      const squeezed = Math.max(1, Math.floor(cin * SE_RATIO));
      const seReduce = randomConv(rnd, mid, squeezed, 1, 1, 1, true);
      // NOTE: gates biased open (sigmoid(2) ~ 0.88), as in trained nets; gates near 0.5 amplify input mismatch.
      const seExpand = randomConv(rnd, squeezed, mid, 1, 1, 1, true, SE_GATE_BIAS);
      stats = excite(stats, seReduce, seExpand);
      const project = convBn(mid, s.channels, 1, 1, 1, false);
      const residual = stride === 1 && cin === s.channels;
      if (residual) stats = addStats(stats, input);
      blocks.push({ name: `block${stage + 1}${String.fromCharCode(97 + index)}`, stage, index, expand, depthwise, seReduce, seExpand, project, residual });
      cin = s.channels;
    }
  });
  const top = convBn(cin, B0_HEAD_CHANNELS, 1, 1, 1, true);
  const weight = Float32Array.from({ length: classes * B0_HEAD_CHANNELS }, () => rnd.normal(0, 1 / Math.sqrt(B0_HEAD_CHANNELS)));
  const bias = Float32Array.from({ length: classes }, () => rnd.normal(0, 0.1));
  return { stem, blocks, top, dense: { weight, bias, classes } };
}

/** A conv with He-normal weights (std sqrt(2 / fan_in)); SE convs get small random biases. */
function randomConv(
  rnd: Random, cin: number, cout: number, k: number, stride: number, group: number, bias: boolean, biasMean = 0,
): ConvParams {
  const fanIn = (cin / group) * k * k;
  const std = Math.sqrt(2 / fanIn);
  const weight = Float32Array.from({ length: cout * fanIn }, () => rnd.normal(0, std));
  return {
    weight, dims: [cout, cin / group, k, k], group, stride,
    bias: bias ? Float32Array.from({ length: cout }, () => rnd.normal(biasMean, 0.1)) : null,
  };
}

/** Expected output statistics of a conv (zero padding at the borders ignored). */
function convStats(c: ConvParams, x: Stats): Stats {
  const [cout, cinG, k] = c.dims;
  const outPerGroup = cout / c.group;
  const mean = new Float64Array(cout);
  const variance = new Float64Array(cout);
  for (let o = 0; o < cout; o++) {
    const base = Math.floor(o / outPerGroup) * cinG;
    let m = c.bias?.[o] ?? 0;
    let v = 0;
    for (let i = 0; i < cinG; i++) {
      let s = 0;
      let s2 = 0;
      for (let t = 0; t < k * k; t++) {
        const w = c.weight[(o * cinG + i) * k * k + t]!;
        s += w;
        s2 += w * w;
      }
      m += s * x.mean[base + i]!;
      v += s2 * x.variance[base + i]!;
    }
    mean[o] = m;
    variance[o] = v;
  }
  return { mean, variance };
}

/** BN with gamma ~ 1, beta ~ 0 and moving statistics near the expected ones of its input. */
function calibratedBn(rnd: Random, x: Stats, epsilon: number): BnParams {
  const n = x.mean.length;
  return {
    epsilon,
    gamma: Float32Array.from({ length: n }, () => rnd.uniform(0.8, 1.2)),
    beta: Float32Array.from({ length: n }, () => rnd.normal(0, 0.1)),
    mean: Float32Array.from(x.mean, (m, i) => m + rnd.normal(0, 0.05) * Math.sqrt(x.variance[i]!)),
    variance: Float32Array.from(x.variance, (v) => v * rnd.uniform(0.9, 1.1) + 1e-4),
  };
}

function bnStats(bn: BnParams, x: Stats): Stats {
  const scale = (i: number): number => bn.gamma[i]! / Math.sqrt(bn.variance[i]! + bn.epsilon);
  return {
    mean: x.mean.map((m, i) => (m - bn.mean[i]!) * scale(i) + bn.beta[i]!),
    variance: x.variance.map((v, i) => v * scale(i) ** 2),
  };
}

const silu = (z: number): number => z / (1 + Math.exp(-z));
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
// NOTE: a fixed grid over a standard normal (step 0.25 on [-6, 6]) is accurate enough for these moments.
const GRID = Array.from({ length: 49 }, (_, i) => -6 + i * 0.25);
const GRID_W = (() => {
  const w = GRID.map((t) => Math.exp(-0.5 * t * t));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
})();

/** Mean and variance of silu(z) for z ~ N(mean, variance), per channel. */
function siluStats(x: Stats): Stats {
  const mean = new Float64Array(x.mean.length);
  const variance = new Float64Array(x.mean.length);
  for (let c = 0; c < x.mean.length; c++) {
    const sd = Math.sqrt(x.variance[c]!);
    let m1 = 0;
    let m2 = 0;
    GRID.forEach((t, j) => {
      const y = silu(x.mean[c]! + sd * t);
      m1 += GRID_W[j]! * y;
      m2 += GRID_W[j]! * y * y;
    });
    mean[c] = m1;
    variance[c] = Math.max(m2 - m1 * m1, 1e-6);
  }
  return { mean, variance };
}

/** Squeeze-excite scaling: the gate is computed from the channel means (what global pooling sees). */
function excite(x: Stats, reduce: ConvParams, expand: ConvParams): Stats {
  const hidden = convStats(reduce, { mean: x.mean, variance: new Float64Array(x.mean.length) }).mean.map(silu);
  const gate = convStats(expand, { mean: hidden, variance: new Float64Array(hidden.length) }).mean.map(sigmoid);
  return { mean: x.mean.map((m, i) => m * gate[i]!), variance: x.variance.map((v, i) => v * gate[i]! ** 2) };
}

function addStats(a: Stats, b: Stats): Stats {
  return { mean: a.mean.map((m, i) => m + b.mean[i]!), variance: a.variance.map((v, i) => v + b.variance[i]!) };
}

/** Folds BatchNormalization into the conv before it: w' = w * s, b' = beta + (b - mean) * s, s = gamma / sqrt(var + eps). */
export function foldBatchNorm({ conv, bn }: ConvBn): ConvParams {
  const [cout] = conv.dims;
  const per = conv.weight.length / cout;
  const weight = new Float32Array(conv.weight.length);
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    const s = bn.gamma[o]! / Math.sqrt(bn.variance[o]! + bn.epsilon);
    for (let j = 0; j < per; j++) weight[o * per + j] = conv.weight[o * per + j]! * s;
    bias[o] = bn.beta[o]! + ((conv.bias?.[o] ?? 0) - bn.mean[o]!) * s;
  }
  return { ...conv, weight, bias };
}
