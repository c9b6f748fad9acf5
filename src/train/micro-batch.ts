// Micro-batching: a batch whose tensors would exceed the device's buffer limit runs as consecutive slices of the
// batch. Training accumulates the slices' gradients (each slice's loss is sum(per-example) / batch size, so the
// sum of their gradients is the full batch's) and applies the optimizer once; inference concatenates the slices.
// The slice size is found by trying: a GpuMemoryError from the first try says how large a batch fits, and that
// size is remembered per model and input shape, so later steps go straight to it.
// Porting note: Keras has no micro-batching; it fails on such a batch. In Graft, layers without batch statistics
// give the full-batch result (within float rounding); BatchNormalization in training mode normalizes each slice
// with that slice's statistics and updates its moving statistics once per slice, as consecutive small steps would.

import { affine, concat, slice, sum } from '../ops/index.js';
import { keep, noGrad, tidy } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Functional } from '../nn/functional.js';
import { GpuMemoryError } from '../gpu/buffer-pool.js';

/** Largest slice known to fit, per model and per (mode, input shape without the batch). */
const fits = new WeakMap<Functional, Map<string, number>>();

function batchOf(x: Tensor | Tensor[]): number {
  return (Array.isArray(x) ? x[0]! : x).shape[0] ?? 1;
}

function keyOf(mode: string, x: Tensor | Tensor[]): string {
  return `${mode}|${(Array.isArray(x) ? x : [x]).map((t) => t.shape.slice(1).join('x')).join(';')}`;
}

/** Rows [start, start + count) of a batch (every input tensor sliced alike). */
export function sliceBatch<T extends Tensor | Tensor[]>(x: T, start: number, count: number): T {
  const one = (t: Tensor) => slice(t, [start, ...t.shape.slice(1).map(() => 0)], [count, ...t.shape.slice(1)]);
  return (Array.isArray(x) ? x.map(one) : one(x as Tensor)) as T;
}

/** The op that asked for the buffer, from the error's stack (the first frame in src/ops/), for messages. */
function opOf(e: Error): string | null {
  const m = /at (?:\w+\.)?(\w+) \([^)]*[\\/]ops[\\/][\w-]+\.[jt]s:/.exec(e.stack ?? '');
  return m ? m[1]! : null;
}

/** The clear error for a batch that cannot be split further: the tensor (op, shape), its size, the limit, what fits. */
function tooLarge(e: GpuMemoryError, what: string, batch: number, slice: number): Error {
  const op = opOf(e);
  const fitting = Math.floor(e.limit / (e.bytes / slice));
  const fitsText = fitting < 1 ? 'not even one example fits' : `the largest batch that fits is ${fitting}`;
  return new GpuMemoryError(
    'limit', e.bytes, e.limit, e.shape,
    ` in ${what}${op ? `, in op '${op}'` : ''}, with a slice of ${slice} of the batch of ${batch}: ${fitsText}; use smaller inputs or a smaller model`,
  );
}

/**
 * Runs `run(start, count)` over slices of a batch of `batch` examples, smaller slices after each GpuMemoryError of
 * the 'limit' kind. `reset` undoes a failed attempt (e.g. clears accumulated gradients) before the retry.
 * Returns the slice size used.
 */
export function inSlices(
  model: Functional, mode: string, x: Tensor | Tensor[], what: string,
  run: (start: number, count: number) => void, reset: () => void,
): number {
  const batch = batchOf(x);
  const key = keyOf(mode, x);
  let known = fits.get(model);
  if (!known) fits.set(model, (known = new Map()));
  let size = Math.min(batch, known.get(key) ?? batch);
  for (;;) {
    try {
      for (let start = 0; start < batch; start += size) run(start, Math.min(size, batch - start));
      return size;
    } catch (e) {
      reset();
      if (!(e instanceof GpuMemoryError) || e.kind !== 'limit') throw e;
      // NOTE: the failing tensor scales with the slice; a later, larger one may fail again, shrinking it further.
      const perExample = e.bytes / size;
      const next = Math.min(size - 1, Math.floor(e.limit / perExample));
      if (next < 1) throw tooLarge(e, what, batch, size);
      size = next;
      known.set(key, size);
    }
  }
}

/** model.call on a batch in inference mode, in slices when the whole batch does not fit; one output tensor. */
export function callInSlices(model: Functional, x: Tensor | Tensor[], what: string): Tensor | Tensor[] {
  const parts: (Tensor | Tensor[])[] = [];
  const clear = () => {
    for (const p of parts.splice(0)) for (const t of Array.isArray(p) ? p : [p]) t.dispose();
  };
  inSlices(model, 'infer', x, what, (start, count) => {
    const out = noGrad(() => tidy(() => model.call(count === batchOf(x) ? x : sliceBatch(x, start, count), { training: false, frozen: false })));
    parts.push(out);
  }, clear);
  if (parts.length === 1) return parts[0]!;
  const outs = parts.map((p) => (Array.isArray(p) ? p : [p]));
  const joined = noGrad(() => outs[0]!.map((_, k) => keep(concat(outs.map((o) => o[k]!), 0))));
  clear();
  return Array.isArray(parts[0]) ? joined : joined[0]!;
}

/**
 * The loss of one slice of a batch, scaled so that the slices' gradients add up to the full batch's mean:
 * sum(perExample) / batch.
 */
export function sliceLoss(perExample: Tensor, batch: number): Tensor {
  return affine(sum(perExample), 1 / batch, 0);
}
