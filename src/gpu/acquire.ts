// Finds a WebGPU implementation: `navigator.gpu` in browsers, Dawn (`webgpu` npm package) in Node.

/** Thrown when no WebGPU adapter can be found; the message says how to get one. */
export class NoAdapterError extends Error {
  constructor(detail: string) {
    super(
      `Graft: no WebGPU adapter found (${detail}).\n` +
        `On Linux without a GPU, install Mesa's software Vulkan driver (lavapipe) from bookworm-backports:\n` +
        `  sed -n '1,/^$/p' /etc/apt/sources.list.d/debian.sources | grep -v '^#' \\\n` +
        `    | sed 's/^Suites: .*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/backports.sources\n` +
        `  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers\n` +
        `or run \`npm run preflight\` as root, which does this for you.`,
    );
    this.name = 'NoAdapterError';
  }
}

/** The GPU entry object plus the adapter it gave. */
export interface AcquiredAdapter {
  /** Kept alive for the device's lifetime: dawn.node segfaults if it is garbage-collected while a device is in use. */
  gpu: GPU;
  adapter: GPUAdapter;
}

// NOTE: a module-level reference, because callers may drop the Device but keep tensors alive.
const keepAlive: GPU[] = [];

async function nodeGpu(): Promise<GPU> {
  const modName = 'webgpu';
  // NOTE: the module name is in a variable so browser bundlers do not try to resolve the Node addon.
  const mod = (await import(/* @vite-ignore */ modName)) as { create: (flags: string[]) => GPU };
  if (typeof process !== 'undefined' && process.platform === 'linux' && !process.env['XDG_RUNTIME_DIR']) {
    process.env['XDG_RUNTIME_DIR'] = '/tmp'; // NOTE: silences Mesa's warning about a missing runtime dir
  }
  return mod.create([]);
}

/** Returns a WebGPU adapter or throws NoAdapterError with the steps to get one. */
export async function acquireAdapter(powerPreference: GPUPowerPreference = 'high-performance'): Promise<AcquiredAdapter> {
  let gpu: GPU | undefined;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    gpu = nav.gpu;
  } else {
    try {
      gpu = await nodeGpu();
    } catch (e) {
      throw new NoAdapterError(`could not load the 'webgpu' package: ${(e as Error).message}`);
    }
  }
  keepAlive.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) throw new NoAdapterError('requestAdapter() returned null');
  return { gpu, adapter };
}
