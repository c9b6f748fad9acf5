// Batches for fit/evaluate/predict from tensors (sliced, or shuffled each epoch from the seeded stream) or from an
// async-iterable dataset of {x, y} batches.

import { slice } from '../ops/index.js';
import { tensor, type Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { permutation } from '../nn/random.js';

/** One batch. fit/evaluate dispose x and y after use; a dataset that keeps its batches (a cache) yields views. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/**
 * An async-iterable of batches; `length` (batches per pass) lets progress bars show totals; `epoch`, when present,
 * counts passes and fixes the next pass's shuffle (BackupAndRestore saves and restores it).
 */
export type Dataset = AsyncIterable<Batch> & { readonly length?: number; epoch?: number };

/** A source of epochs of batches. */
export interface BatchSource {
  /** Batches per epoch when known. */
  readonly steps: number | null;
  /** One pass; stops after `limit` batches when given. Returns false from `exhausted` when the data ran out early. */
  epoch(limit?: number): AsyncGenerator<Batch>;
  /** True when the last epoch ended because the data ran out before `limit`. */
  exhausted: boolean;
  /** The data-order state beyond the random stream (a dataset's epoch counter, which seeds its shuffle), or null. */
  dataOrder: number | null;
}

export function isDataset(v: unknown): v is Dataset {
  return typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
}

/** Batches of rows [start, start + n) of x and y; shuffled ones are gathered on the CPU from a one-time copy. */
export class TensorSource implements BatchSource {
  exhausted = false;
  // NOTE: shuffled tensor inputs draw their order from the random stream; there is no other state.
  dataOrder: number | null = null;
  private cpu: { x: Float32Array | Int32Array; y: Float32Array | Int32Array } | null = null;

  constructor(
    private readonly x: Tensor,
    private readonly y: Tensor | null,
    private readonly batchSize: number,
    private readonly shuffle: boolean,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`Graft fit: batchSize must be a positive integer, got ${batchSize}`);
    if (x.rank < 1) throw new Error(`Graft fit: x must have a batch dimension, got ${formatShape(x.shape)}`);
    if (y && y.shape[0] !== x.shape[0]) {
      throw new Error(`Graft fit: x ${formatShape(x.shape)} and y ${formatShape(y.shape)} have different numbers of examples`);
    }
  }

  get steps(): number {
    return Math.ceil(this.x.shape[0]! / this.batchSize);
  }

  /** The x rows in order, in batches (for predict). */
  *inputs(): Generator<Tensor> {
    const n = this.x.shape[0]!;
    for (let start = 0; start < n; start += this.batchSize) yield sliceRows(this.x, start, Math.min(this.batchSize, n - start));
  }

  async *epoch(limit?: number): AsyncGenerator<Batch> {
    if (!this.y) throw new Error('Graft fit: y is missing');
    const n = this.x.shape[0]!;
    const order = this.shuffle ? permutation(n) : null;
    if (order && !this.cpu) this.cpu = { x: await this.x.data(), y: await this.y.data() };
    const steps = Math.min(this.steps, limit ?? Infinity);
    for (let s = 0; s < steps; s++) {
      const start = s * this.batchSize;
      const count = Math.min(this.batchSize, n - start);
      if (order) {
        const rows = order.slice(start, start + count);
        yield { x: gatherRows(this.cpu!.x, this.x, rows), y: gatherRows(this.cpu!.y, this.y, rows) };
      } else {
        yield { x: sliceRows(this.x, start, count), y: sliceRows(this.y, start, count) };
      }
    }
    this.exhausted = false;
  }
}

function sliceRows(t: Tensor, start: number, count: number): Tensor {
  return slice(t, [start, ...t.shape.slice(1).map(() => 0)], [count, ...t.shape.slice(1)]);
}

function gatherRows(data: Float32Array | Int32Array, like: Tensor, rows: number[]): Tensor {
  const width = like.size / like.shape[0]!;
  const out = like.dtype === 'int32' ? new Int32Array(rows.length * width) : new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(data.subarray(r * width, (r + 1) * width), i * width));
  return tensor(out, [rows.length, ...like.shape.slice(1)], { dtype: like.dtype, device: like.device });
}

/** Batches from a dataset; each epoch iterates it afresh. */
export class DatasetSource implements BatchSource {
  exhausted = false;

  constructor(private readonly ds: Dataset, private readonly stepsPerEpoch: number | undefined) {}

  /** The dataset's `epoch` counter (src/data datasets have one), or null for a plain async iterable. */
  get dataOrder(): number | null {
    return typeof this.ds.epoch === 'number' ? this.ds.epoch : null;
  }

  set dataOrder(value: number | null) {
    if (value !== null && this.dataOrder !== null) this.ds.epoch = value;
  }

  get steps(): number | null {
    return this.stepsPerEpoch ?? (typeof this.ds.length === 'number' ? this.ds.length : null);
  }

  async *epoch(limit?: number): AsyncGenerator<Batch> {
    const max = limit ?? this.stepsPerEpoch ?? Infinity;
    let n = 0;
    this.exhausted = false;
    if (max <= 0) return;
    for await (const b of this.ds) {
      if (!b || !b.x || !b.y) throw new Error('Graft fit: a dataset batch must be an object {x, y} of tensors');
      yield b;
      if (++n >= max) return;
    }
    if (max !== Infinity && n < max) this.exhausted = true;
  }
}
