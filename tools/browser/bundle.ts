// Node-only: bundles browser entry files (Graft, WGSL inlined, peers) into ES modules with Vite's build API.

import { build } from 'vite';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds each entry (`name` → path relative to the repository root) into `outDir/<name>.js`. */
export async function buildBrowserBundle(entries: Record<string, string>, outDir: string): Promise<void> {
  await build({
    configFile: false,
    root: ROOT,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      target: 'es2022',
      reportCompressedSize: false,
      lib: { entry: entries, formats: ['es'], fileName: (_format, name) => `${name}.js` },
    },
  });
}
