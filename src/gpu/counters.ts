// Counts that hold on any GPU: dispatches, bytes bound to kernels, submits, buffers created and GPU memory held,
// gathered by wrapping the WebGPU methods every engine calls, so that Graft and a peer in the same process (TF.js
// on the same Dawn) are counted the same way.

import type { Device } from './device.js';

/** The WebGPU classes whose prototypes get counted: browser globals, or the `globals` of Dawn's `webgpu` package. */
export interface WebGpuClasses {
  GPUDevice: { prototype: GPUDevice };
  GPUQueue: { prototype: GPUQueue };
  GPUComputePassEncoder: { prototype: GPUComputePassEncoder };
  GPUBuffer: { prototype: GPUBuffer };
}

/** Work counted while counting is on (see `countWork`). */
export interface WorkCounts {
  /** dispatchWorkgroups calls. */
  dispatches: number;
  /** Sum over dispatches of the sizes of the storage buffers bound (what a kernel may read or write). */
  kernelBytes: number;
  /** queue.submit calls. */
  submits: number;
  /** createBuffer calls. */
  buffersCreated: number;
}

/** GPU memory of one device: bytes in buffers created and not destroyed, and the most since `resetPeak`. */
export interface MemoryCounts {
  liveBytes: number;
  peakBytes: number;
}

const STORAGE = 0x0080;

const work: WorkCounts = { dispatches: 0, kernelBytes: 0, submits: 0, buffersCreated: 0 };
let counting = false;
const memory = new WeakMap<GPUDevice, MemoryCounts>();
const bufferOwner = new WeakMap<GPUBuffer, { device: GPUDevice; size: number }>();
const groupBytes = new WeakMap<GPUBindGroup, number>();
const passGroups = new WeakMap<GPUComputePassEncoder, Map<number, number>>();
let installed: (() => void) | null = null;

/**
 * Wraps createBuffer, GPUBuffer.destroy, createBindGroup, setBindGroup, dispatchWorkgroups and queue.submit on the
 * classes' prototypes (once per process; later calls are no-ops). Returns a function that restores the originals.
 * Memory is tracked from then on; work only while counting is on, so timed runs pay one flag test per call.
 */
export function instrumentWebGpu(classes: WebGpuClasses): () => void {
  if (installed) return installed;
  const dev = classes.GPUDevice.prototype;
  const buf = classes.GPUBuffer.prototype;
  const pass = classes.GPUComputePassEncoder.prototype;
  const queue = classes.GPUQueue.prototype;
  const orig = {
    createBuffer: dev.createBuffer,
    createBindGroup: dev.createBindGroup,
    destroy: buf.destroy,
    setBindGroup: pass.setBindGroup,
    dispatchWorkgroups: pass.dispatchWorkgroups,
    submit: queue.submit,
  };
  dev.createBuffer = function (this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    const b = orig.createBuffer.call(this, desc);
    const m = memory.get(this) ?? { liveBytes: 0, peakBytes: 0 };
    m.liveBytes += desc.size;
    m.peakBytes = Math.max(m.peakBytes, m.liveBytes);
    memory.set(this, m);
    bufferOwner.set(b, { device: this, size: desc.size });
    if (counting) work.buffersCreated++;
    return b;
  };
  buf.destroy = function (this: GPUBuffer): undefined {
    const o = bufferOwner.get(this);
    if (o) {
      bufferOwner.delete(this);
      const m = memory.get(o.device);
      if (m) m.liveBytes -= o.size;
    }
    return orig.destroy.call(this);
  };
  dev.createBindGroup = function (this: GPUDevice, desc: GPUBindGroupDescriptor): GPUBindGroup {
    const g = orig.createBindGroup.call(this, desc);
    let bytes = 0;
    // NOTE: a buffer bound twice (an unused binding filled with another operand) counts once.
    const seen = new Set<GPUBuffer>();
    for (const e of desc.entries) {
      const r = e.resource as GPUBufferBinding;
      if (!r || typeof r !== 'object' || !('buffer' in r) || (r.buffer.usage & STORAGE) === 0 || seen.has(r.buffer)) continue;
      seen.add(r.buffer);
      bytes += r.size ?? r.buffer.size - (r.offset ?? 0);
    }
    groupBytes.set(g, bytes);
    return g;
  };
  pass.setBindGroup = function (this: GPUComputePassEncoder, index: number, group: GPUBindGroup | null, ...rest: unknown[]) {
    if (counting) {
      let m = passGroups.get(this);
      if (!m) passGroups.set(this, (m = new Map()));
      m.set(index, group ? groupBytes.get(group) ?? 0 : 0);
    }
    return (orig.setBindGroup as (...a: unknown[]) => undefined).call(this, index, group, ...rest);
  } as GPUComputePassEncoder['setBindGroup'];
  pass.dispatchWorkgroups = function (this: GPUComputePassEncoder, x: number, y?: number, z?: number): undefined {
    if (counting) {
      work.dispatches++;
      for (const b of passGroups.get(this)?.values() ?? []) work.kernelBytes += b;
    }
    return orig.dispatchWorkgroups.call(this, x, y, z);
  };
  queue.submit = function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>): undefined {
    if (counting) work.submits++;
    return orig.submit.call(this, buffers);
  };
  installed = () => {
    Object.assign(dev, { createBuffer: orig.createBuffer, createBindGroup: orig.createBindGroup });
    Object.assign(buf, { destroy: orig.destroy });
    Object.assign(pass, { setBindGroup: orig.setBindGroup, dispatchWorkgroups: orig.dispatchWorkgroups });
    Object.assign(queue, { submit: orig.submit });
    installed = null;
  };
  return installed;
}

/** Whether instrumentWebGpu has run. */
export function isInstrumented(): boolean {
  return installed !== null;
}

/** GPU memory of `device` as counted since instrumentation (zeros for a device that created nothing since). */
export function memoryOf(device: GPUDevice): MemoryCounts {
  return { ...(memory.get(device) ?? { liveBytes: 0, peakBytes: 0 }) };
}

/**
 * Counts the work `fn` records and submits on every instrumented device until `sync` resolves, and the peak memory
 * of `device` meanwhile (starting from what it holds now). Throws when instrumentWebGpu has not run.
 */
export async function countWork(device: GPUDevice, fn: () => void, sync: () => Promise<void>): Promise<WorkCounts & MemoryCounts> {
  if (!installed) throw new Error('Graft counters: call instrumentWebGpu(classes) before countWork');
  const m = memory.get(device) ?? { liveBytes: 0, peakBytes: 0 };
  memory.set(device, m);
  m.peakBytes = m.liveBytes;
  const before = { ...work };
  counting = true;
  try {
    fn();
    await sync();
  } finally {
    counting = false;
  }
  return {
    dispatches: work.dispatches - before.dispatches,
    kernelBytes: work.kernelBytes - before.kernelBytes,
    submits: work.submits - before.submits,
    buffersCreated: work.buffersCreated - before.buffersCreated,
    liveBytes: m.liveBytes,
    peakBytes: m.peakBytes,
  };
}

/** The names of the kernels a Graft device records from `watchKernels` until `stop()`, in order. */
export interface KernelWatch {
  readonly names: string[];
  /** Restores the device's own `run` (idempotent). */
  stop(): void;
}

/** Starts listing the kernels `device.run` records (benches tally them, tests check which kernel a path used). */
export function watchKernels(device: Device): KernelWatch {
  const names: string[] = [];
  const run = device.run;
  // NOTE: an own property shadows the prototype's method while watching; deleting it restores the original.
  device.run = function (this: Device, ...args: Parameters<Device['run']>) {
    names.push(args[0].name);
    return run.apply(this, args);
  } as Device['run'];
  return { names, stop: () => void delete (device as { run?: unknown }).run };
}
