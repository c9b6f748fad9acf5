// Float64 reference for NHWC pooling: global average, 2-D max and average (padding excluded from the count).

import { refZeros, type RefTensor } from './tensor.js';

/** Reference pooling options: same meaning as Pool2dOptions in src/ops/pool.ts. */
export interface RefPoolOptions {
  poolSize: number | readonly [number, number];
  strides?: number | readonly [number, number];
  padding?: 'valid' | 'same' | readonly [number, number, number, number];
}

export function globalAvgPoolRef(x: RefTensor, keepDims = false): RefTensor {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const y = refZeros(keepDims ? [n, 1, 1, c] : [n, c]);
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      let s = 0;
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) s += x.data[((b * h + i) * w + j) * c + k]!;
      y.data[b * c + k] = s / (h * w);
    }
  }
  return y;
}

/** One window: its (row, col) input positions in row-major scan order, padding left out. */
interface Window {
  n: number;
  c: number;
  cells: number[];
}

/** Enumerates every output window of a 2-D pooling; `pads` follow TensorFlow's SAME rule (extra at the end). */
function windows(shape: readonly number[], o: RefPoolOptions): { outShape: number[]; list: Window[] } {
  const [n, h, w, c] = shape as [number, number, number, number];
  const k = typeof o.poolSize === 'number' ? [o.poolSize, o.poolSize] : [...o.poolSize];
  const st = o.strides === undefined ? k : typeof o.strides === 'number' ? [o.strides, o.strides] : [...o.strides];
  const pad = o.padding ?? 'valid';
  let top = 0, left = 0, outH: number, outW: number;
  if (pad === 'valid') {
    outH = Math.ceil((h - k[0]! + 1) / st[0]!);
    outW = Math.ceil((w - k[1]! + 1) / st[1]!);
  } else if (pad === 'same') {
    outH = Math.ceil(h / st[0]!);
    outW = Math.ceil(w / st[1]!);
    top = Math.floor(Math.max(0, (outH - 1) * st[0]! + k[0]! - h) / 2);
    left = Math.floor(Math.max(0, (outW - 1) * st[1]! + k[1]! - w) / 2);
  } else {
    top = pad[0];
    left = pad[2];
    outH = Math.floor((h + pad[0] + pad[1] - k[0]!) / st[0]!) + 1;
    outW = Math.floor((w + pad[2] + pad[3] - k[1]!) / st[1]!) + 1;
  }
  const list: Window[] = [];
  for (let b = 0; b < n; b++) {
    for (let oi = 0; oi < outH; oi++) {
      for (let oj = 0; oj < outW; oj++) {
        for (let ch = 0; ch < c; ch++) {
          const cells: number[] = [];
          for (let di = 0; di < k[0]!; di++) {
            for (let dj = 0; dj < k[1]!; dj++) {
              const i = oi * st[0]! - top + di;
              const j = oj * st[1]! - left + dj;
              if (i >= 0 && i < h && j >= 0 && j < w) cells.push(((b * h + i) * w + j) * c + ch);
            }
          }
          list.push({ n: b, c: ch, cells });
        }
      }
    }
  }
  return { outShape: [n, outH, outW, c], list };
}

export function maxPool2dRef(x: RefTensor, o: RefPoolOptions): RefTensor {
  const { outShape, list } = windows(x.shape, o);
  const y = refZeros(outShape);
  list.forEach((win, i) => (y.data[i] = Math.max(...win.cells.map((p) => x.data[p]!))));
  return y;
}

export function avgPool2dRef(x: RefTensor, o: RefPoolOptions): RefTensor {
  const { outShape, list } = windows(x.shape, o);
  const y = refZeros(outShape);
  list.forEach((win, i) => (y.data[i] = win.cells.reduce((s, p) => s + x.data[p]!, 0) / win.cells.length));
  return y;
}

/** Max-pool gradient with the documented tie rule: each window's dy goes to its first maximal cell in scan order. */
export function maxPool2dBackwardRef(x: RefTensor, dy: RefTensor, o: RefPoolOptions): RefTensor {
  const { list } = windows(x.shape, o);
  const dx = refZeros(x.shape);
  list.forEach((win, i) => {
    let best = win.cells[0]!;
    for (const p of win.cells) if (x.data[p]! > x.data[best]!) best = p;
    dx.data[best] = dx.data[best]! + dy.data[i]!;
  });
  return dx;
}
