// Float64 reference for conv2d and depthwise conv2d (NHWC, HWIO / [kh, kw, c, mult]): plain nested loops.

import { refZeros, type RefTensor } from './tensor.js';

/** Options of the reference convolutions (same meaning as the ops'). */
export interface RefConvOptions {
  strides?: number | [number, number];
  padding?: 'same' | 'valid' | [number, number, number, number];
  dilations?: number | [number, number];
  bias?: RefTensor;
  activation?: 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'silu';
}

const refActivation: Record<string, (v: number) => number> = {
  linear: (v) => v,
  relu: (v) => Math.max(v, 0),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  silu: (v) => v / (1 + Math.exp(-v)),
};

interface Resolved {
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  left: number;
  oh: number;
  ow: number;
}

/** Resolves pads the TensorFlow way: output ceil(in / s) for 'same', with the odd pad pixel after. */
function resolve(h: number, w: number, kh: number, kw: number, o: RefConvOptions): Resolved {
  const [sh, sw] = typeof o.strides === 'number' ? [o.strides, o.strides] : (o.strides ?? [1, 1]);
  const [dh, dw] = typeof o.dilations === 'number' ? [o.dilations, o.dilations] : (o.dilations ?? [1, 1]);
  const ekh = dh * (kh - 1) + 1;
  const ekw = dw * (kw - 1) + 1;
  const p = o.padding ?? 'valid';
  if (p === 'same') {
    const oh = Math.ceil(h / sh);
    const ow = Math.ceil(w / sw);
    const th = Math.max(0, (oh - 1) * sh + ekh - h);
    const tw = Math.max(0, (ow - 1) * sw + ekw - w);
    return { sh, sw, dh, dw, top: Math.floor(th / 2), left: Math.floor(tw / 2), oh, ow };
  }
  const [t, b, l, r] = p === 'valid' ? [0, 0, 0, 0] : p;
  return { sh, sw, dh, dw, top: t, left: l, oh: Math.floor((h + t + b - ekh) / sh) + 1, ow: Math.floor((w + l + r - ekw) / sw) + 1 };
}

/** y[n, oh, ow, co] = act(bias[co] + sum_{i, j, ci} x[n, oh*sh + i*dh - top, ow*sw + j*dw - left, ci] * f[i, j, ci, co]). */
export function conv2dRef(x: RefTensor, f: RefTensor, o: RefConvOptions = {}): RefTensor {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [kh, kw, , co] = f.shape as [number, number, number, number];
  const g = resolve(h, w, kh, kw, o);
  const act = refActivation[o.activation ?? 'linear']!;
  const y = refZeros([n, g.oh, g.ow, co]);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < g.oh; p++) {
      for (let q = 0; q < g.ow; q++) {
        for (let k = 0; k < co; k++) {
          let s = o.bias ? o.bias.data[k]! : 0;
          for (let i = 0; i < kh; i++) {
            const ih = p * g.sh + i * g.dh - g.top;
            if (ih < 0 || ih >= h) continue;
            for (let j = 0; j < kw; j++) {
              const iw = q * g.sw + j * g.dw - g.left;
              if (iw < 0 || iw >= w) continue;
              for (let ci = 0; ci < c; ci++) {
                s += x.data[((b * h + ih) * w + iw) * c + ci]! * f.data[((i * kw + j) * c + ci) * co + k]!;
              }
            }
          }
          y.data[((b * g.oh + p) * g.ow + q) * co + k] = act(s);
        }
      }
    }
  }
  return y;
}

/** y[n, oh, ow, ci*mult + m] = act(bias + sum_{i, j} x[n, oh*sh + i*dh - top, ow*sw + j*dw - left, ci] * f[i, j, ci, m]). */
export function depthwiseConv2dRef(x: RefTensor, f: RefTensor, o: RefConvOptions = {}): RefTensor {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const [kh, kw, , mult] = f.shape as [number, number, number, number];
  const g = resolve(h, w, kh, kw, o);
  const act = refActivation[o.activation ?? 'linear']!;
  const oc = c * mult;
  const y = refZeros([n, g.oh, g.ow, oc]);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < g.oh; p++) {
      for (let q = 0; q < g.ow; q++) {
        for (let ci = 0; ci < c; ci++) {
          for (let m = 0; m < mult; m++) {
            const k = ci * mult + m;
            let s = o.bias ? o.bias.data[k]! : 0;
            for (let i = 0; i < kh; i++) {
              const ih = p * g.sh + i * g.dh - g.top;
              if (ih < 0 || ih >= h) continue;
              for (let j = 0; j < kw; j++) {
                const iw = q * g.sw + j * g.dw - g.left;
                if (iw < 0 || iw >= w) continue;
                s += x.data[((b * h + ih) * w + iw) * c + ci]! * f.data[((i * kw + j) * c + ci) * mult + m]!;
              }
            }
            y.data[((b * g.oh + p) * g.ow + q) * oc + k] = act(s);
          }
        }
      }
    }
  }
  return y;
}
