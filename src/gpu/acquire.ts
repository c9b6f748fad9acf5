// Finds a WebGPU adapter through the platform's GPU entry object (navigator.gpu in browsers, Dawn in Node).

import { platform } from '../platform/platform.js';

/** Thrown when no WebGPU adapter can be found; the message says how to get one. */
export class NoAdapterError extends Error {
  constructor(detail: string) {
    super(`Graft: no WebGPU adapter found (${detail}).\n${platform().name === 'browser' ? BROWSER_STEPS : NODE_STEPS}`);
    this.name = 'NoAdapterError';
  }
}

const NODE_STEPS =
  `On Linux without a GPU, install Mesa's software Vulkan driver (lavapipe) from bookworm-backports:\n` +
  `  sed -n '1,/^$/p' /etc/apt/sources.list.d/debian.sources | grep -v '^#' \\\n` +
  `    | sed 's/^Suites: .*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/backports.sources\n` +
  `  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers\n` +
  `or run \`npm run preflight\` as root, which does this for you.`;

const BROWSER_STEPS =
  'Use Chrome or Edge 113+ (or Chromium with --enable-unsafe-webgpu); on Linux also --enable-features=Vulkan. ' +
  'The page must be served from https:// or http://localhost (WebGPU needs a secure context).';

/** The GPU entry object plus the adapter it gave. */
export interface AcquiredAdapter {
  /** Kept alive for the device's lifetime: dawn.node segfaults if it is garbage-collected while a device is in use. */
  gpu: GPU;
  adapter: GPUAdapter;
}

// NOTE: a module-level reference, because callers may drop the Device but keep tensors alive.
const keepAlive: GPU[] = [];

/** Returns a WebGPU adapter or throws NoAdapterError with the steps to get one. */
export async function acquireAdapter(powerPreference: GPUPowerPreference = 'high-performance'): Promise<AcquiredAdapter> {
  let gpu: GPU;
  try {
    gpu = await platform().gpu();
  } catch (e) {
    throw new NoAdapterError((e as Error).message);
  }
  keepAlive.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) throw new NoAdapterError('requestAdapter() returned null');
  return { gpu, adapter };
}
