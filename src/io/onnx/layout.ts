// Weight layout conversion from ONNX (OIHW, Gemm [N,K]) to Graft's (conv HWIO, depthwise [kh,kw,C,M], dense [in,out]).

/** A float32 weight with its dims. */
export interface Weight {
  /** Shape. */
  dims: number[];
  /** Row-major values. */
  values: Float32Array;
}

/** How a Conv maps onto Graft: a regular/grouped conv with HWIO weights, or a depthwise conv with [kh,kw,C,M]. */
export type ConvWeightLayout =
  | { kind: 'conv'; groups: number; weight: Weight }
  | { kind: 'depthwise'; multiplier: number; weight: Weight };

function check(w: Weight, rank: number, what: string): void {
  const n = w.dims.reduce((p, d) => p * d, 1);
  if (w.dims.length !== rank || n !== w.values.length) {
    throw new Error(`Graft ONNX layout: ${what} expects a rank-${rank} weight, got [${w.dims.join(',')}] with ${w.values.length} values`);
  }
}

/** OIHW [O, I/g, kh, kw] -> HWIO [kh, kw, I/g, O] (grouped convs keep I/g: group j reads input channels j*I/g...). */
export function oihwToHwio(w: Weight): Weight {
  check(w, 4, 'oihwToHwio');
  const [o, i, kh, kw] = w.dims as [number, number, number, number];
  const out = new Float32Array(w.values.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = w.values[((a * i + b) * kh + y) * kw + x]!;
      }
    }
  }
  return { dims: [kh, kw, i, o], values: out };
}

/** Depthwise OIHW [C*M, 1, kh, kw] (group C; output c*M+m reads channel c) -> [kh, kw, C, M]. */
export function depthwiseToHwcm(w: Weight, channels: number): Weight {
  check(w, 4, 'depthwiseToHwcm');
  const [o, one, kh, kw] = w.dims as [number, number, number, number];
  if (one !== 1 || o % channels !== 0) {
    throw new Error(`Graft ONNX layout: depthwise weight [${w.dims.join(',')}] does not fit ${channels} channels`);
  }
  const m = o / channels;
  const out = new Float32Array(w.values.length);
  for (let c = 0; c < channels; c++) {
    for (let j = 0; j < m; j++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * channels + c) * m + j] = w.values[((c * m + j) * kh + y) * kw + x]!;
      }
    }
  }
  return { dims: [kh, kw, channels, m], values: out };
}

/** Chooses the Graft layout of a Conv weight: depthwise when group equals the input channels, else (grouped) HWIO. */
export function convWeightLayout(w: Weight, group: number, inChannels: number): ConvWeightLayout {
  check(w, 4, 'convWeightLayout');
  if (group > 1 && group === inChannels && w.dims[1] === 1) {
    return { kind: 'depthwise', multiplier: w.dims[0]! / group, weight: depthwiseToHwcm(w, inChannels) };
  }
  return { kind: 'conv', groups: group, weight: oihwToHwio(w) };
}

/** Gemm B ([N, K] when transB = 1, else [K, N]) or MatMul B [K, N] -> dense kernel [K, N] (in, out). */
export function denseKernel(w: Weight, transposed: boolean): Weight {
  check(w, 2, 'denseKernel');
  if (!transposed) return { dims: [...w.dims], values: w.values.slice() };
  const [n, k] = w.dims as [number, number];
  const out = new Float32Array(w.values.length);
  for (let a = 0; a < n; a++) for (let b = 0; b < k; b++) out[b * n + a] = w.values[a * k + b]!;
  return { dims: [k, n], values: out };
}
