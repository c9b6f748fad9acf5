// Layout bookkeeping: each imported value lives in Graft with its axes in some physical order. `perm[i]` is the
// ONNX (logical) axis stored at physical axis i; NCHW maps held as NHWC have perm [0, 2, 3, 1].

/** The identity permutation of `rank` axes. */
export function identity(rank: number): number[] {
  return [...Array(rank).keys()];
}

/** True when perm is the identity. */
export function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

/** Layout of a value after an ONNX Transpose `p` (output logical j = input logical p[j]) of a value with `perm`. */
export function afterTranspose(perm: readonly number[], p: readonly number[]): number[] {
  return perm.map((a) => p.indexOf(a));
}

/** The transpose op permutation that turns physical layout `from` into `to` (same logical axes). */
export function transposeBetween(from: readonly number[], to: readonly number[]): number[] {
  return to.map((a) => from.indexOf(a));
}

/** Channels-last layout of a channels-first (N, C, spatial...) value: [0, 2, ..., rank-1, 1]. */
export function channelsLast(rank: number): number[] {
  return rank < 3 ? identity(rank) : [0, ...identity(rank).slice(2), 1];
}

/** Logical shape of a value from its physical shape. */
export function logicalShape<T>(physical: readonly T[], perm: readonly number[]): T[] {
  const out = new Array<T>(physical.length);
  perm.forEach((a, i) => (out[a] = physical[i]!));
  return out;
}

/** Physical shape (or per-axis list) of a logical one. */
export function physicalOrder<T>(logical: readonly T[], perm: readonly number[]): T[] {
  return perm.map((a) => logical[a]!);
}

/** Transposes row-major `values` of `shape` by `perm` (output axis i = input axis perm[i]); CPU, for constants. */
export function transposeValues(values: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  const outShape = perm.map((p) => shape[p]!);
  const n = values.length;
  const out = new Float32Array(n);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i]! * strides[perm[i]!]!;
    out[o] = values[src]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < outShape[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}
