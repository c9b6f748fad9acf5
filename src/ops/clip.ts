// Gradient clipping on the GPU: sums of squares with the reduce ops, the clip factor applied by a kernel, no readback.

import { noGrad } from '../tensor/engine.js';
import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { mapBinary, mapUnary } from './elementwise.js';
import { clipScaleKernel } from './optimizers.js';
import { sum } from './reduce.js';

/** rows x cols = n with rows the largest divisor <= sqrt(n): a two-stage sum keeps many invocations busy. */
function splitForSum(n: number): [number, number] {
  for (let r = Math.floor(Math.sqrt(n)); r > 1; r--) if (n % r === 0) return [r, n / r];
  return [1, n];
}

/** Sum of the squares of all elements of `x`, as a scalar tensor (GPU only). */
export function sumOfSquares(x: Tensor): Tensor {
  if (x.dtype !== 'float32') throw new Error(`Graft sumOfSquares: expected a float32 tensor, got ${x.dtype} ${formatShape(x.shape)}`);
  return noGrad(() => {
    const sq = mapUnary(x, 'square');
    if (x.size < 4096) {
      const total = sum(sq);
      sq.dispose();
      return total;
    }
    const [rows, cols] = splitForSum(x.size);
    const view = new Tensor(x.device, [rows, cols], 'float32', sq);
    sq.dispose();
    const partial = sum(view, 1);
    view.dispose();
    const total = sum(partial);
    partial.dispose();
    return total;
  });
}

/** Sum of the squares of every element of every tensor, as a scalar tensor; its sqrt is the global norm. */
export function globalSumOfSquares(xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new Error('Graft globalSumOfSquares: no tensors given');
  let parts = xs.map(sumOfSquares);
  // NOTE: a pairwise tree keeps float32 rounding of the total small for hundreds of tensors.
  while (parts.length > 1) {
    const next: Tensor[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      next.push(mapBinary(parts[i]!, parts[i + 1]!, 'add'));
      parts[i]!.dispose();
      parts[i + 1]!.dispose();
    }
    if (parts.length % 2 === 1) next.push(parts[parts.length - 1]!);
    parts = next;
  }
  return parts[0]!;
}

/** The global L2 norm of a list of tensors, as a scalar tensor. */
export function globalNorm(xs: readonly Tensor[]): Tensor {
  const s = globalSumOfSquares(xs);
  const n = mapUnary(s, 'sqrt');
  s.dispose();
  return n;
}

/**
 * Scales `x` by clip / max(sqrt(sumSq), clip), where `sumSq` is a scalar tensor; NaN where sumSq is not finite
 * (Keras semantics). Returns a new tensor.
 */
export function scaleByNorm(x: Tensor, sumSq: Tensor, clipNorm: number): Tensor {
  const out = new Tensor(x.device, x.shape, 'float32');
  x.device.run(clipScaleKernel, [x.buffer, sumSq.buffer], [out.buffer], { n: x.size, clip: clipNorm });
  return out;
}

/**
 * Keras clip_by_global_norm: every gradient times min(1, clipNorm / globalNorm), computed on the GPU.
 * Returns new tensors (the caller owns them); the inputs are unchanged.
 */
export function clipByGlobalNorm(grads: readonly Tensor[], clipNorm: number): Tensor[] {
  checkClipNorm('clipByGlobalNorm', clipNorm);
  if (grads.length === 0) return [];
  const total = globalSumOfSquares(grads);
  const out = grads.map((g) => scaleByNorm(g, total, clipNorm));
  total.dispose();
  return out;
}

/** Keras clip_by_norm for one tensor: x * clipNorm / max(norm(x), clipNorm). Returns a new tensor. */
export function clipByNorm(x: Tensor, clipNorm: number): Tensor {
  checkClipNorm('clipByNorm', clipNorm);
  const total = sumOfSquares(x);
  const out = scaleByNorm(x, total, clipNorm);
  total.dispose();
  return out;
}

/** Throws naming `fn` unless clipNorm is a finite number > 0. */
export function checkClipNorm(fn: string, clipNorm: number): void {
  if (!(clipNorm > 0) || !Number.isFinite(clipNorm)) throw new Error(`Graft ${fn}: clipNorm must be a finite number > 0, got ${clipNorm}`);
}
