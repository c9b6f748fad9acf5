// Loads WGSL from `shaders/`: from disk in Node, from registered or fetched text in browsers.

import type { ShaderFile } from './kernel.js';

const sources = new Map<ShaderFile, string>();

/** Registers WGSL text for a shader file (browsers, bundlers, or tests that patch a kernel). */
export function registerShaderSource(file: ShaderFile, code: string): void {
  sources.set(file, code);
}

type NodeFs = { readFileSync: (p: URL, enc: 'utf8') => string; existsSync: (p: URL) => boolean };
let fsModule: NodeFs | null | undefined;

/** Loads `node:fs` once in Node; null in browsers. */
export async function initShaderLoader(): Promise<void> {
  if (fsModule !== undefined) return;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  const name = 'node:fs';
  fsModule = isNode ? ((await import(/* @vite-ignore */ name)) as NodeFs) : null;
}

// NOTE: from src/gpu/ (tsx, vitest) the shaders are two levels up; from dist/src/gpu/ three.
const candidates = ['../../shaders/', '../../../shaders/'];

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
  if (!fsModule) {
    throw new Error(`Graft: WGSL for '${file}' is not loaded; in a browser call loadShaders(baseUrl) or registerShaderSource()`);
  }
  for (const dir of candidates) {
    const url = new URL(`${dir}${file}.wgsl`, import.meta.url);
    if (fsModule.existsSync(url)) {
      const code = fsModule.readFileSync(url, 'utf8');
      sources.set(file, code);
      return code;
    }
  }
  throw new Error(`Graft: shaders/${file}.wgsl not found next to the Graft package`);
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
