// Browsers (through Vite): registers every WGSL file of `shaders/` from text that Vite inlines into the bundle.
/// <reference types="vite/client" />

import { registerShaderSource } from '../gpu/shader-source.js';

// NOTE: eager + '?raw' makes Vite inline each file as a string at build time; no fetch, no base URL to configure.
const files = import.meta.glob<string>('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true });

/** Shader file names (without `.wgsl`) that the bundle carries. */
export const bundledShaderFiles: readonly string[] = Object.keys(files).map(shaderName);

function shaderName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).replace(/\.wgsl$/, '');
}

/** Registers every bundled shader with the kernel registry; call once before the first op (idempotent). */
export function registerAllShaders(): void {
  if (bundledShaderFiles.length === 0) throw new Error('Graft: no WGSL files were bundled (is this module built by Vite?)');
  for (const [path, code] of Object.entries(files)) registerShaderSource(shaderName(path), code);
}
