// TensorFlow.js as a benchmark peer: its webgpu backend on the same Dawn/lavapipe adapter, or its wasm backend.

import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export type Tf = typeof import('@tensorflow/tfjs-core');
export type TfjsBackend = 'webgpu' | 'wasm';

// NOTE: dawn.node crashes if its root object is garbage-collected while a device lives: hold it for the process.
const keepAlive: unknown[] = [];
const loaded = new Map<TfjsBackend, Promise<Tf>>();

/**
 * Loads TensorFlow.js with `backend` active and returns its namespace, or throws with the reason.
 * Node has no navigator.gpu: for 'webgpu' one is made from the `webgpu` package (Dawn), as in a browser.
 * Only one backend is active at a time; calling with the other switches it.
 */
export async function loadTfjs(backend: TfjsBackend): Promise<Tf> {
  let p = loaded.get(backend);
  if (!p) {
    p = init(backend);
    loaded.set(backend, p);
    p.catch(() => loaded.delete(backend));
  }
  const tf = await p;
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) {
    throw new Error(`tfjs: could not switch back to the ${backend} backend`);
  }
  return tf;
}

async function init(backend: TfjsBackend): Promise<Tf> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (backend === 'webgpu' && !g.navigator?.gpu) {
    const { create, globals } = (await import('webgpu')) as { create: (flags: string[]) => unknown; globals: object };
    // NOTE: tfjs also reads the WebGPU enums (GPUBufferUsage, GPUMapMode, ...) as globals, as browsers provide them.
    Object.assign(globalThis, globals);
    const gpu = create([]);
    keepAlive.push(gpu);
    g.navigator = { ...(g.navigator ?? {}), gpu };
  }
  const tf = (await import('@tensorflow/tfjs-core')) as Tf;
  // NOTE: silences tfjs' "install tfjs-node" banner and its per-op warnings in benchmark output.
  tf.env().set('IS_TEST', true);
  if (backend === 'webgpu') {
    await import('@tensorflow/tfjs-backend-webgpu');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(`${dir}/`);
  }
  // NOTE: setBackend swallows the factory's error into a console warning; capture it to report the reason.
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
  } finally {
    console.warn = warn;
  }
  if (!ok) throw new Error(`tfjs ${backend} backend failed to initialize${warnings.length ? `: ${warnings.join('; ')}` : ''}`);
  await tf.ready();
  return tf;
}

/** The parts of tfjs' WebGPUBackend that a sync needs (not in its public types). */
interface WebGpuBackendInternals {
  queue?: GPUQueue;
  commandEncoder?: GPUCommandEncoder | null;
  ensureCommandEncoderReady?: () => void;
  endComputePassEncoder?: () => void;
  submitQueue?: () => void;
}

/**
 * Waits for all work the tfjs backend has recorded. On webgpu, waiting on the queue alone returned before tfjs' work had
 * run here (it gave impossible GFLOP/s), so this reads back a small tensor computed on the GPU after that work: a map
 * resolves only once everything submitted before it has finished.
 */
export async function tfjsSync(tf: Tf): Promise<void> {
  const be = tf.backend() as unknown as WebGpuBackendInternals;
  if (be.commandEncoder) {
    be.endComputePassEncoder?.();
    be.submitQueue?.();
  }
  // NOTE: 4096 elements keeps tfjs from handing the op to its CPU path (its threshold is 128).
  const sentinel = tf.tidy(() => tf.relu(tf.fill([4096], 1)));
  await sentinel.data();
  sentinel.dispose();
}

/** Runs `fn` for every peer backend in `backends`, returning figures by peer key and logging failures. */
export async function tfjsPeers(
  backends: readonly TfjsBackend[],
  fn: (tf: Tf, backend: TfjsBackend) => Promise<number>,
  log: (msg: string) => void,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const b of backends) {
    try {
      const tf = await loadTfjs(b);
      out[`tfjs-${b}`] = await fn(tf, b);
    } catch (e) {
      log(`tfjs-${b} skipped: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}
