// One device per test file; tests use small shapes because the CI adapter is a software GPU.

import { beforeAll } from 'vitest';
import type { Device } from '../../src/gpu/device.js';
import { init } from '../../src/tensor/engine.js';

let device: Device | null = null;

/** Creates the device once per file (vitest forks one process per file). */
export function useDevice(): () => Device {
  beforeAll(async () => {
    device = await init();
  });
  return () => {
    if (!device) throw new Error('device not ready');
    return device;
  };
}
