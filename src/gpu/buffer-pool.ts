// Size-bucketed pool of storage buffers, so training steps reuse memory instead of allocating.

const STORAGE_USAGE = GPUBufferUsageFlagsOf('storage');

// NOTE: GPUBufferUsage is a browser/Dawn global; the numeric flags are fixed by the spec.
function GPUBufferUsageFlagsOf(kind: 'storage' | 'readback'): number {
  const COPY_SRC = 0x0004;
  const COPY_DST = 0x0008;
  const MAP_READ = 0x0001;
  const STORAGE = 0x0080;
  return kind === 'storage' ? STORAGE | COPY_SRC | COPY_DST : MAP_READ | COPY_DST;
}

/** Rounds a byte size up to its bucket: multiples of 256 below 4 KiB, then 8 buckets per power of two (<= 12.5% waste). */
export function bucketSize(bytes: number): number {
  const b = Math.max(bytes, 16);
  if (b <= 4096) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/** Pool statistics in bytes. */
export interface PoolStats {
  /** Bytes in buffers handed out and not yet released. */
  bytesInUse: number;
  /** Bytes in free buffers kept for reuse. */
  bytesPooled: number;
  /** Number of free buffers kept for reuse. */
  buffersPooled: number;
}

/**
 * A tensor that does not fit in one GPU buffer (over the device's maxStorageBufferBindingSize / maxBufferSize, or
 * a lower limit set with BufferPool.setLimit), or a device out of memory. fit/evaluate/predict catch the 'limit'
 * kind and split the batch into micro-batches; the message names the shape, its size and the limit.
 */
export class GpuMemoryError extends Error {
  constructor(
    /** 'limit': over the largest buffer allowed; 'out-of-memory': the device could not allocate. */
    readonly kind: 'limit' | 'out-of-memory',
    /** Bytes requested. */
    readonly bytes: number,
    /** The largest buffer allowed, in bytes. */
    readonly limit: number,
    /** Shape of the tensor being allocated, when known (dimension 0 is usually the batch). */
    readonly shape: readonly number[] | null,
    detail = '',
  ) {
    super(`Graft: ${describeAllocation(kind, bytes, limit, shape)}${detail}`);
    this.name = 'GpuMemoryError';
  }

  /** The largest batch (dimension 0 of the shape) whose tensor fits under the limit, or null when unknown. */
  get largestBatch(): number | null {
    if (!this.shape || this.shape.length === 0 || !(this.shape[0]! > 0)) return null;
    return Math.floor(this.limit / (this.bytes / this.shape[0]!));
  }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function describeAllocation(kind: 'limit' | 'out-of-memory', bytes: number, limit: number, shape: readonly number[] | null): string {
  const what = shape ? `a tensor of shape [${shape.join(',')}] (${bytes} bytes, ${mib(bytes)})` : `a buffer of ${bytes} bytes (${mib(bytes)})`;
  if (kind === 'out-of-memory') return `the GPU ran out of memory allocating ${what}`;
  return `${what} exceeds this device's buffer limit of ${limit} bytes (${mib(limit)}, maxStorageBufferBindingSize)`;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  // NOTE: buffers released while recorded commands may still read them wait here until the next submit;
  // otherwise a queue.writeBuffer into a reused buffer would land before those commands run.
  private pendingRelease: GPUBuffer[] = [];
  private inUse = 0;
  private pooled = 0;
  private pooledCount = 0;

  private limit: number;
  /** The most recent new GPU buffer (bytes, tensor shape): what a device out-of-memory error names. */
  lastCreated: { bytes: number; shape: readonly number[] | null } = { bytes: 0, shape: null };

  constructor(
    private readonly device: GPUDevice,
    /** The device's largest buffer: min(maxStorageBufferBindingSize, maxBufferSize). */
    private readonly maxBufferSize: number,
  ) {
    this.limit = maxBufferSize;
  }

  /** The largest buffer this pool hands out, in bytes. */
  get bufferLimit(): number {
    return this.limit;
  }

  /**
   * Lowers the largest buffer handed out (null restores the device's limit), so that tests can exercise
   * micro-batching and limit errors on small shapes; it can never be raised above the device's limit.
   */
  setLimit(bytes: number | null): void {
    this.limit = bytes === null ? this.maxBufferSize : Math.max(256, Math.min(this.maxBufferSize, Math.floor(bytes / 4) * 4));
  }

  /** A storage buffer of at least `bytes`; `shape` names the tensor in a limit error. */
  acquire(bytes: number, label?: string, shape?: readonly number[]): GPUBuffer {
    if (bytes > this.limit) throw new GpuMemoryError('limit', bytes, this.limit, shape ?? null);
    // NOTE: the bucket may round past the limit; such a buffer gets the exact (4-aligned) size instead.
    const bucket = bucketSize(bytes);
    const size = bucket <= this.limit ? bucket : Math.ceil(bytes / 4) * 4;
    const list = this.free.get(size);
    const buf = list?.pop();
    this.inUse += size;
    if (buf) {
      this.pooled -= size;
      this.pooledCount--;
      return buf;
    }
    this.lastCreated = { bytes, shape: shape ?? null };
    return this.device.createBuffer({ size, usage: STORAGE_USAGE, label: label ?? 'graft' });
  }

  /** Returns a buffer; it becomes reusable after the next submit. */
  release(buf: GPUBuffer): void {
    this.inUse -= buf.size;
    this.pendingRelease.push(buf);
    this.pooled += buf.size;
    this.pooledCount++;
  }

  /** Called after a submit: released buffers may now be reused. */
  afterSubmit(): void {
    for (const buf of this.pendingRelease) {
      let list = this.free.get(buf.size);
      if (!list) this.free.set(buf.size, (list = []));
      list.push(buf);
    }
    this.pendingRelease = [];
  }

  /** Destroys every free buffer (those in use are untouched). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooled = this.pendingRelease.reduce((s, b) => s + b.size, 0);
    this.pooledCount = this.pendingRelease.length;
  }

  stats(): PoolStats {
    return { bytesInUse: this.inUse, bytesPooled: this.pooled, buffersPooled: this.pooledCount };
  }
}

/** Pool of MAP_READ staging buffers for readback. */
export class ReadbackPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number): GPUBuffer {
    const size = bucketSize(bytes);
    return this.free.get(size)?.pop() ?? this.device.createBuffer({ size, usage: GPUBufferUsageFlagsOf('readback'), label: 'graft-readback' });
  }

  release(buf: GPUBuffer): void {
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    if (list.length < 4) list.push(buf);
    else buf.destroy();
  }
}
