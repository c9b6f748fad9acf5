// Float64 reference tensors: plain arrays and loops, written independently of the WGSL (the test oracle).

export interface RefTensor {
  shape: number[];
  data: Float64Array;
}

export function refSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function ref(data: ArrayLike<number>, shape: readonly number[]): RefTensor {
  if (data.length !== refSize(shape)) throw new Error(`reference: ${data.length} values for shape [${shape.join(',')}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function refZeros(shape: readonly number[]): RefTensor {
  return { shape: [...shape], data: new Float64Array(refSize(shape)) };
}

/** Multi-index of flat index `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const e = shape[d]!;
    idx[d] = i % e;
    i = Math.floor(i / e);
  }
  return idx;
}

/** Flat index of a multi-index in `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + idx[d]!;
  return i;
}

export function mapRef(x: RefTensor, f: (v: number, i: number) => number): RefTensor {
  const out = refZeros(x.shape);
  for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i]!, i);
  return out;
}
