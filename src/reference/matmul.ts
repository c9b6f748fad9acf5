// Float64 reference for matmul with transposes, NumPy batch broadcasting, bias and activation.

import { refUnary } from './elementwise.js';
import { ravel, refZeros, unravel, type RefTensor } from './tensor.js';

/** Options of matmulRef, mirroring the op's. */
export interface MatmulRefOptions {
  transposeA?: boolean;
  transposeB?: boolean;
  /** Shape [N]. */
  bias?: RefTensor;
  activation?: 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'tanh' | 'silu';
}

/** Flat offset of the [rows, cols] matrix at batch multi-index `batchIdx` of `x`. */
function matrixOffset(x: RefTensor, batchIdx: number[]): number {
  return ravel([...batchIdx, 0, 0], x.shape);
}

/** x's batch multi-index for output batch multi-index `outIdx` (size-1 dims broadcast). */
function sourceBatch(outIdx: number[], batchShape: readonly number[]): number[] {
  const off = outIdx.length - batchShape.length;
  return batchShape.map((d, i) => (d === 1 ? 0 : outIdx[off + i]!));
}

export function matmulRef(a: RefTensor, b: RefTensor, o: MatmulRefOptions = {}): RefTensor {
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = o.transposeA ? a.shape[ar - 1]! : a.shape[ar - 2]!;
  const k = o.transposeA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  const kb = o.transposeB ? b.shape[br - 1]! : b.shape[br - 2]!;
  const n = o.transposeB ? b.shape[br - 2]! : b.shape[br - 1]!;
  if (k !== kb) throw new Error(`reference matmul: K ${k} vs ${kb}`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batchShape: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aBatch[i - (rank - aBatch.length)] ?? 1;
    const db = bBatch[i - (rank - bBatch.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error('reference matmul: batch dims do not broadcast');
    batchShape.push(Math.max(da, db));
  }
  const out = refZeros([...batchShape, m, n]);
  const batches = batchShape.reduce((p, d) => p * d, 1);
  const act = refUnary[o.activation ?? 'linear'] ?? ((x: number) => x);
  for (let bi = 0; bi < batches; bi++) {
    const outIdx = unravel(bi, batchShape);
    const ao = matrixOffset(a, sourceBatch(outIdx, aBatch));
    const bo = matrixOffset(b, sourceBatch(outIdx, bBatch));
    // op(A)[i, q] and op(B)[q, j] in the stored (possibly transposed) row-major matrices.
    const A = (i: number, q: number) => a.data[ao + (o.transposeA ? q * m + i : i * k + q)]!;
    const B = (q: number, j: number) => b.data[bo + (o.transposeB ? j * k + q : q * n + j)]!;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += A(i, q) * B(q, j);
        if (o.bias) s += o.bias.data[j]!;
        out.data[(bi * m + i) * n + j] = act(s, 0, 0);
      }
    }
  }
  return out;
}
