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

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  // NOTE: buffers released while recorded commands may still read them wait here until the next submit;
  // otherwise a queue.writeBuffer into a reused buffer would land before those commands run.
  private pendingRelease: GPUBuffer[] = [];
  private inUse = 0;
  private pooled = 0;
  private pooledCount = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(`Graft: a buffer of ${bytes} bytes exceeds this device's limit of ${this.maxBufferSize} bytes`);
    }
    const list = this.free.get(size);
    const buf = list?.pop();
    this.inUse += size;
    if (buf) {
      this.pooled -= size;
      this.pooledCount--;
      return buf;
    }
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
