// Browser project setup: Graft's browser entry (navigator.gpu, WGSL bundled by Vite, OPFS) as users get it, and a
// loud failure (never a skip) without a WebGPU adapter.

import { beforeAll } from 'vitest';
import '../src/browser/index.js';

beforeAll(async () => {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    throw new Error(`Chromium has no navigator.gpu on ${location.origin}: WebGPU is off (flags in tools/browser/chromium.ts) or the page is not a secure context`);
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    throw new Error('Chromium gave no WebGPU adapter (requestAdapter() returned null): check that SwiftShader Vulkan is available (`npm run preflight`)');
  }
});
