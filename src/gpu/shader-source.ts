// WGSL text of `shaders/`: registered or fetched text, else the platform's (read from disk in Node, inlined in the
// browser build).

import { platform } from '../platform/platform.js';
import type { ShaderFile } from './kernel.js';

const sources = new Map<ShaderFile, string>();

/** Registers WGSL text for a shader file (browsers, bundlers, or tests that patch a kernel). */
export function registerShaderSource(file: ShaderFile, code: string): void {
  sources.set(file, code);
}

// NOTE: WGSL has no includes; a line `//! include NAME` is replaced by shaders/NAME.wgsl (once per module, nested
// includes too), so helpers shared by several kernel families (the activations) and the variants of one family
// (matmul_common) live in one file.
const INCLUDE = /^\/\/! include ([a-z0-9_]+)\s*$/gm;

/** Returns the WGSL text of a shader file with its includes expanded, or throws naming the file. */
export function shaderSource(file: ShaderFile): string {
  const seen = new Set<string>([file]);
  const expand = (code: string): string =>
    code.replace(INCLUDE, (_, name: string) => {
      if (seen.has(name)) return '';
      seen.add(name);
      return expand(rawSource(name));
    });
  return expand(rawSource(file));
}

function rawSource(file: ShaderFile): string {
  const cached = sources.get(file);
  if (cached !== undefined) return cached;
  const code = platform().shaderSource(file);
  if (code === undefined) {
    throw new Error(`Graft: WGSL for '${file}' is not available; in a browser without the bundled build call loadShaders(baseUrl, files) or registerShaderSource()`);
  }
  sources.set(file, code);
  return code;
}

/** Browsers: fetches every shader file from `baseUrl` (the package's `shaders/` folder as served), includes too. */
export async function loadShaders(baseUrl: string, files: readonly ShaderFile[]): Promise<void> {
  await Promise.all(
    files.map(async (f) => {
      const res = await fetch(new URL(`${f}.wgsl`, baseUrl));
      if (!res.ok) throw new Error(`Graft: could not fetch ${f}.wgsl from ${baseUrl}: HTTP ${res.status}`);
      sources.set(f, await res.text());
    }),
  );
}
