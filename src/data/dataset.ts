// Dataset: a known number of items per epoch, async iteration, and the take/map/cache stages on top of a source.

import { Tensor } from '../tensor/tensor.js';

/** Where a Dataset's items come from: one async generator per epoch. */
export interface DatasetSource<T> {
  /** Items per epoch. */
  readonly length: number;
  /** Class names that labels index (empty when unlabelled). */
  readonly classNames: readonly string[];
  /** Files behind the items, in their unshuffled order (empty when not file-based). */
  readonly filePaths: readonly string[];
  /** Epochs started so far; the next iteration's shuffle order derives from it. */
  epoch: number;
  /** Starts the next epoch. */
  iterate(): AsyncGenerator<T>;
  /** The same items, keeping decoded data in CPU memory once read (never on the GPU). */
  cached(): DatasetSource<T>;
}

type Stage = { kind: 'map'; fn: (item: unknown) => unknown } | { kind: 'take'; n: number };

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, out);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out);
  }
}

async function* mapStage(items: AsyncGenerator<unknown>, fn: (item: unknown) => unknown): AsyncGenerator<unknown> {
  for await (const item of items) {
    const out = await fn(item);
    // NOTE: the input item belongs to the pipeline; tensors that fn replaced would otherwise leak.
    const before = new Set<Tensor>();
    const after = new Set<Tensor>();
    collectTensors(item, before);
    collectTensors(out, after);
    for (const t of before) if (!after.has(t)) t.dispose();
    yield out;
  }
}

async function* takeStage(items: AsyncGenerator<unknown>, n: number): AsyncGenerator<unknown> {
  if (n <= 0) {
    await items.return(undefined);
    return;
  }
  let count = 0;
  for await (const item of items) {
    yield item;
    if (++count >= n) break;
  }
}

/**
 * An async-iterable dataset with a known number of items (batches) per epoch. Each `for await` runs one epoch;
 * a shuffled dataset reshuffles every epoch. The consumer owns the tensors it receives and disposes them.
 */
export class Dataset<T> implements AsyncIterable<T> {
  constructor(
    private readonly source: DatasetSource<unknown>,
    private readonly stages: readonly Stage[] = [],
  ) {}

  /** Items (batches) per epoch. */
  get length(): number {
    let n = this.source.length;
    for (const s of this.stages) if (s.kind === 'take') n = Math.min(n, Math.max(0, s.n));
    return n;
  }

  /** Same as `length`: batches per epoch. */
  get numBatches(): number {
    return this.length;
  }

  /** Class names, sorted as the labels index them. */
  get classNames(): string[] {
    return [...this.source.classNames];
  }

  /** The files this dataset reads, before shuffling. */
  get filePaths(): string[] {
    return [...this.source.filePaths];
  }

  /** Epochs started so far; set it (e.g. to `initialEpoch`) to resume the same shuffle sequence. */
  get epoch(): number {
    return this.source.epoch;
  }

  set epoch(value: number) {
    this.source.epoch = value;
  }

  /** The first `n` items of each epoch. */
  take(n: number): Dataset<T> {
    if (!Number.isInteger(n) || n < 0) throw new Error(`Graft Dataset.take: n must be a non-negative integer, got ${n}`);
    return new Dataset<T>(this.source, [...this.stages, { kind: 'take', n }]);
  }

  /** Applies `fn` to every item; tensors of the input item that `fn` does not return are disposed after it. */
  map<U>(fn: (item: T) => U | Promise<U>): Dataset<U> {
    return new Dataset<U>(this.source, [...this.stages, { kind: 'map', fn: fn as (item: unknown) => unknown }]);
  }

  /**
   * Keeps decoded images in CPU memory after their first read, so later epochs skip decoding; shuffling still
   * changes each epoch. Porting note: tf.data's cache() after a shuffle would freeze the first epoch's order.
   */
  cache(): Dataset<T> {
    return new Dataset<T>(this.source.cached(), this.stages);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    let items = this.source.iterate();
    for (const s of this.stages) items = s.kind === 'map' ? mapStage(items, s.fn) : takeStage(items, s.n);
    return items as AsyncGenerator<T>;
  }
}
