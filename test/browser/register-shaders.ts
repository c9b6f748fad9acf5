// Browser tests and benchmark pages: registers every WGSL file that Vite inlined (src/browser/shaders.ts) with the
// kernel registry, so kernels compile without fetching shaders/ and whatever platform is (or is not) installed.

import { bundledShaders } from '../../src/browser/shaders.js';
import { registerShaderSource } from '../../src/gpu/shader-source.js';

/** Registers every bundled shader; throws when the module was not built by Vite (no WGSL inlined). */
export function registerAllShaders(): void {
  if (bundledShaders.size === 0) throw new Error('Graft: no WGSL files were bundled (is this module built by Vite?)');
  for (const [name, code] of bundledShaders) registerShaderSource(name, code);
}
