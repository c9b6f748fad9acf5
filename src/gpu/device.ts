// The WebGPU runtime: device, pipeline cache, batched command recording, readback and GPU timers.

import { acquireAdapter } from './acquire.js';
import { BufferPool, GpuMemoryError, ReadbackPool, type PoolStats } from './buffer-pool.js';
import type { Kernel } from './kernel.js';
import { shaderSource } from './shader-source.js';

/** Options for createDevice. */
export interface DeviceOptions {
  /** Dispatches recorded before an automatic submit (default 64). */
  batchSize?: number;
  powerPreference?: GPUPowerPreference;
}

const UNIFORM_SLOT = 256; // NOTE: minUniformBufferOffsetAlignment is at most 256 on every adapter
const UNIFORM_USAGE = 0x0040 | 0x0008; // UNIFORM | COPY_DST
const QUERY_RESOLVE = 0x0200; // BufferUsage.QUERY_RESOLVE

interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Raised when the GPU reports a validation or out-of-memory error. */
export class GpuError extends Error {
  constructor(message: string) {
    super(`Graft GPU error: ${message}`);
    this.name = 'GpuError';
  }
}

/** A WebGPU device with its buffer pool, pipeline cache and batched command encoder; ops run on their inputs' device. */
export class Device {
  readonly pool: BufferPool;
  /** Number of dispatches recorded since creation (for tests and benchmarks). */
  dispatchCount = 0;
  /** Number of submits since creation. */
  submitCount = 0;

  private readonly readbacks: ReadbackPool;
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly batchSize: number;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private uniformArena: GPUBuffer;
  private uniformStaging: Uint8Array;
  private uniformUsed = 0;
  private errors: string[] = [];
  private outOfMemory: GpuMemoryError | null = null;
  private timer: { querySet: GPUQuerySet; next: number; capacity: number } | null = null;
  private lost: string | null = null;

  constructor(
    readonly gpu: GPUDevice,
    readonly adapterInfo: GPUAdapterInfo,
    /** Kept to stop dawn.node's root object from being garbage-collected while the device lives. */
    readonly root: GPU,
    /** What createDevice was given (a replacement for a lost device is created with the same). */
    readonly options: DeviceOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 64;
    this.pool = new BufferPool(gpu, Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize));
    this.readbacks = new ReadbackPool(gpu);
    this.uniformStaging = new Uint8Array(UNIFORM_SLOT * this.batchSize);
    this.uniformArena = gpu.createBuffer({ size: this.uniformStaging.byteLength, usage: UNIFORM_USAGE, label: 'graft-uniforms' });
    gpu.addEventListener('uncapturederror', (ev) => this.reportError((ev as GPUUncapturedErrorEvent).error));
    void gpu.lost.then((info) => {
      this.lost ??= `${info.reason}: ${info.message}`;
    });
  }

  /** Whether the GPU device was lost (driver reset, destroy(), the browser reclaiming it); every later use fails. */
  get isLost(): boolean {
    return this.lost !== null;
  }

  /** Why the device was lost (`reason: message`), or null while it lives. */
  get lostReason(): string | null {
    return this.lost;
  }

  /** Loses the device on purpose, through the real GPUDevice.destroy(), for tests of device-loss recovery. */
  loseForTest(reason = 'lost on purpose by loseForTest()'): void {
    // NOTE: set now, not when gpu.lost resolves, so the next flush or read at a point the caller controls fails.
    this.lost ??= `destroyed: ${reason}`;
    this.gpu.destroy();
  }

  get limits(): GPUSupportedLimits {
    return this.gpu.limits;
  }

  get hasTimestamps(): boolean {
    return this.gpu.features.has('timestamp-query');
  }

  /** Compiles (once) and returns the pipeline for a kernel specialization. */
  private pipelineFor<P>(kernel: Kernel<P>, constants: Record<string, number>): Pipeline {
    const key = `${kernel.id}|${JSON.stringify(constants)}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    let module = this.modules.get(kernel.shader);
    if (!module) {
      module = this.gpu.createShaderModule({ code: shaderSource(kernel.shader), label: kernel.shader });
      this.modules.set(kernel.shader, module);
    }
    const entries: GPUBindGroupLayoutEntry[] = [];
    const total = kernel.inputs + kernel.outputs;
    for (let i = 0; i < total; i++) {
      entries.push({ binding: i, visibility: 4, buffer: { type: i < kernel.inputs ? 'read-only-storage' : 'storage' } });
    }
    entries.push({ binding: total, visibility: 4, buffer: { type: 'uniform' } });
    const layout = this.gpu.createBindGroupLayout({ entries, label: kernel.name });
    const pipeline = this.gpu.createComputePipeline({
      label: kernel.name,
      layout: this.gpu.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: kernel.entryPoint, constants },
    });
    p = { pipeline, layout };
    this.pipelines.set(key, p);
    return p;
  }

  /** Number of compiled pipelines (one per kernel specialization). */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Records one dispatch of `kernel`; inputs and outputs are bound in order, the uniform block last. */
  run<P>(kernel: Kernel<P>, inputs: readonly GPUBuffer[], outputs: readonly GPUBuffer[], params: P): void {
    if (inputs.length !== kernel.inputs || outputs.length !== kernel.outputs) {
      throw new Error(`Graft: kernel ${kernel.name} takes ${kernel.inputs} inputs and ${kernel.outputs} outputs`);
    }
    const groups = kernel.workgroups(params);
    if (groups[0] * groups[1] * groups[2] === 0) return;
    const { pipeline, layout } = this.pipelineFor(kernel, kernel.constants(params));
    const ubytes = new Uint8Array(kernel.uniforms(params).bytes());
    if (ubytes.byteLength > UNIFORM_SLOT) throw new Error(`Graft: kernel ${kernel.name} uniform block exceeds ${UNIFORM_SLOT} bytes`);
    if (this.pending >= this.batchSize) this.flush();
    const offset = this.uniformUsed;
    this.uniformStaging.set(ubytes, offset);
    this.uniformUsed += UNIFORM_SLOT;
    const entries: GPUBindGroupEntry[] = [];
    [...inputs, ...outputs].forEach((buffer, i) => entries.push({ binding: i, resource: { buffer } }));
    entries.push({ binding: entries.length, resource: { buffer: this.uniformArena, offset, size: ubytes.byteLength } });
    const bindGroup = this.gpu.createBindGroup({ layout, entries });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.pending++;
    this.dispatchCount++;
  }

  private commandEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.gpu.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (this.pass) return this.pass;
    const desc: GPUComputePassDescriptor = {};
    const t = this.timer;
    if (t && t.next + 2 <= t.capacity) {
      desc.timestampWrites = { querySet: t.querySet, beginningOfPassWriteIndex: t.next, endOfPassWriteIndex: t.next + 1 };
      t.next += 2;
    }
    this.pass = this.commandEncoder().beginComputePass(desc);
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Records a buffer-to-buffer copy (ends the open compute pass). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.pending++;
  }

  /** Uploads bytes into a buffer, ordered after all work recorded so far. */
  write(dst: GPUBuffer, data: ArrayBufferView, dstOffset = 0): void {
    // NOTE: writeBuffer runs at queue time, before unsubmitted commands, so submit them first.
    if (this.pending > 0) this.flush();
    this.gpu.queue.writeBuffer(dst, dstOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.checkLost();
    if (!this.encoder) {
      this.pool.afterSubmit();
      return;
    }
    this.endPass();
    if (this.uniformUsed > 0) this.gpu.queue.writeBuffer(this.uniformArena, 0, this.uniformStaging.buffer, 0, this.uniformUsed);
    this.gpu.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    this.uniformUsed = 0;
    this.submitCount++;
    this.pool.afterSubmit();
  }

  /** Copies `bytes` from a buffer to the CPU. Submits pending work first. */
  async read(src: GPUBuffer, bytes: number, srcOffset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    if (size === 0) {
      this.flush();
      return new ArrayBuffer(0);
    }
    const staging = this.readbacks.acquire(size);
    this.copy(src, srcOffset, staging, 0, size);
    this.flush();
    await staging.mapAsync(1 /* MapMode.READ */, 0, size);
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.readbacks.release(staging);
    this.throwErrors();
    return out;
  }

  /** Waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.gpu.queue.onSubmittedWorkDone();
    this.throwErrors();
  }

  /** Records an error the GPU reported (the uncapturederror listener); an out-of-memory one names the last allocation. */
  reportError(error: { readonly message: string }): void {
    if (error.constructor?.name === 'GPUOutOfMemoryError' && !this.outOfMemory) {
      const last = this.pool.lastCreated;
      this.outOfMemory = new GpuMemoryError('out-of-memory', last.bytes, this.pool.bufferLimit, last.shape, ` (${error.message})`);
    }
    this.errors.push(error.message);
  }

  /** Throws the first GPU error reported since the last check (a GpuMemoryError when the device ran out of memory). */
  throwErrors(): void {
    this.checkLost();
    const oom = this.outOfMemory;
    if (oom) {
      this.outOfMemory = null;
      this.errors = [];
      throw oom;
    }
    if (this.errors.length > 0) {
      const msg = this.errors.join('\n');
      this.errors = [];
      throw new GpuError(msg);
    }
  }

  private checkLost(): void {
    if (this.lost) throw new GpuError(`device lost (${this.lost})`);
  }

  /**
   * Times the GPU work that `fn` records, with timestamp queries, in milliseconds.
   * Returns null where the adapter has no timestamp-query feature.
   */
  async timeGpu(fn: () => void, maxPasses = 512): Promise<number | null> {
    if (!this.hasTimestamps) {
      fn();
      await this.sync();
      return null;
    }
    this.flush();
    const capacity = Math.min(maxPasses * 2, 4096);
    const querySet = this.gpu.createQuerySet({ type: 'timestamp', count: capacity });
    const timer = { querySet, next: 0, capacity };
    this.timer = timer;
    try {
      fn();
      this.endPass();
    } finally {
      this.timer = null;
    }
    const count = Math.max(2, timer.next);
    const resolve = this.gpu.createBuffer({ size: count * 8, usage: QUERY_RESOLVE | 0x0004 });
    this.commandEncoder().resolveQuerySet(querySet, 0, count, resolve, 0);
    const raw = new BigUint64Array(await this.read(resolve, count * 8));
    resolve.destroy();
    querySet.destroy();
    let ns = 0n;
    for (let i = 0; i + 1 < count; i += 2) {
      const a = raw[i]!;
      const b = raw[i + 1]!;
      if (b > a) ns += b - a;
    }
    return Number(ns) / 1e6;
  }

  /** Buffer pool statistics. */
  stats(): PoolStats {
    return this.pool.stats();
  }

  destroy(): void {
    this.flush();
    this.pool.trim();
    this.gpu.destroy();
  }
}

/** Creates a Device with limits fitted to the adapter. */
export async function createDevice(options: DeviceOptions = {}): Promise<Device> {
  const { gpu, adapter } = await acquireAdapter(options.powerPreference);
  const a = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
    maxBufferSize: a.maxBufferSize,
    maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
  };
  // NOTE: 'subgroups' is newer than @webgpu/types' GPUFeatureName, so match by string.
  const wanted = ['timestamp-query', 'shader-f16', 'subgroups'];
  const requiredFeatures = [...adapter.features].filter((f) => wanted.includes(f)) as GPUFeatureName[];
  const gpuDevice = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'graft' });
  return new Device(gpuDevice, adapter.info, gpu, options);
}
