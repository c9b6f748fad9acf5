// The current device scope, tidy scopes and grad mode: the little state that eager execution needs.

import { createDevice, type Device, type DeviceOptions } from '../gpu/device.js';

/** What tidy scopes hold: a tensor (tensor.ts), seen only through what disposal needs. */
export interface Tracked {
  readonly isDisposed: boolean;
  dispose(): void;
}

let current: Device | null = null;
const scopes: Set<Tracked>[] = [];
// NOTE: every tensor passes through track() at construction, so this set recognizes tensors without importing Tensor.
const everTracked = new WeakSet<object>();
let gradEnabled = true;

/** Creates a device (if none is set, or the one set was lost) and makes it the default for tensor creation. */
export async function init(options: DeviceOptions = {}): Promise<Device> {
  if (!current || current.isLost) current = await createDevice(options);
  return current;
}

/** Makes `device` the default for tensor creation; ops always use their inputs' device. */
export function setDevice(device: Device): void {
  current = device;
}

/**
 * After `lost` was lost: creates a device with the same options and makes it the default (device-loss recovery).
 * Tensors on the lost device stay dead; their owners re-create them (Variable.rebind).
 */
export async function replaceLostDevice(lost: Device): Promise<Device> {
  if (!lost.isLost) throw new Error('Graft: replaceLostDevice() was given a device that is not lost');
  const fresh = await createDevice(lost.options);
  current = fresh;
  return fresh;
}

/** The default device; throws if `init()` has not run. */
export function getDevice(): Device {
  if (!current) throw new Error('Graft: no device; call `await graft.init()` first');
  return current;
}

/** Registers a new tensor with the innermost tidy scope. */
export function track(t: Tracked): void {
  everTracked.add(t);
  scopes[scopes.length - 1]?.add(t);
}

/** Removes a tensor from every scope so that no tidy disposes it. */
export function keep<T extends Tracked>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

type TensorContainer = Tracked | TensorContainer[] | { [k: string]: TensorContainer } | number | string | boolean | null | undefined | void;

function isTracked(v: unknown): v is Tracked {
  return typeof v === 'object' && v !== null && everTracked.has(v);
}

function collect(value: unknown, out: Set<Tracked>): void {
  if (isTracked(value)) out.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v, out);
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (in arrays or objects) and those kept.
 * `fn` must be synchronous.
 */
export function tidy<T extends TensorContainer>(fn: () => T): T {
  const scope = new Set<Tracked>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('Graft: tidy() takes a synchronous function; await outside it');
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const survivors = new Set<Tracked>();
  collect(result, survivors);
  for (const t of scope) if (!survivors.has(t)) t.dispose();
  // NOTE: returned tensors move to the enclosing scope, so an outer tidy still owns them.
  for (const t of survivors) if (!t.isDisposed) track(t);
  return result;
}

/** Runs `fn` without recording gradients. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Whether ops currently record the autograd tape. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Live tensor bookkeeping for memory(). */
export const live = { tensors: 0, bytes: 0 };

/** Memory held by Graft tensors. */
export interface MemoryInfo {
  /** Bytes held by live tensors (logical sizes). */
  bytesLive: number;
  /** Bytes in pool buffers: allocated but free for reuse. */
  bytesPooled: number;
  /** Bytes in pool buffers handed out (bucketed sizes). */
  bytesAllocated: number;
  /** Live (undisposed) tensors. */
  tensorsLive: number;
}

/** Bytes and tensors held now: the number to watch for leaks (flat over training steps). */
export function memory(device?: Device): MemoryInfo {
  const d = device ?? current;
  const stats = d?.stats();
  return {
    bytesLive: live.bytes,
    bytesPooled: stats?.bytesPooled ?? 0,
    bytesAllocated: stats?.bytesInUse ?? 0,
    tensorsLive: live.tensors,
  };
}
