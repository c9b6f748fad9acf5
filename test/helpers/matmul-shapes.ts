// Operand shapes for matmul tests: op(a) = [M, K], op(b) = [K, N] under transpose flags, with batch dims in front.

/** Shapes of a and b for op(a) = [M, K], op(b) = [K, N] under the flags. */
export function shapesFor(m: number, k: number, n: number, ta: boolean, tb: boolean, aBatch: number[] = [], bBatch: number[] = []) {
  return { sa: [...aBatch, ...(ta ? [k, m] : [m, k])], sb: [...bBatch, ...(tb ? [n, k] : [k, n])] };
}

/** Every (transposeA, transposeB) pair. */
export const flags: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

/** Number of elements of a shape. */
export const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
