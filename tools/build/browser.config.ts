// `npm run build:browser`: the browser entry (src/browser/index.ts) as one self-contained ES module with the WGSL
// inlined, dist/browser/graft.js (+ source map), importable by a plain <script type="module"> with no bundler.

import { defineConfig } from 'vite';

export default defineConfig({
  // NOTE: the library has no index.html; the root only anchors relative paths.
  root: new URL('../..', import.meta.url).pathname,
  logLevel: 'warn',
  build: {
    outDir: 'dist/browser',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    minify: true,
    lib: { entry: 'src/browser/index.ts', formats: ['es'], fileName: () => 'graft.js' },
    // NOTE: Keras .h5 support (h5wasm, about 5 MB of WebAssembly) is a chunk loaded only when an .h5 file is read.
    rolldownOptions: { output: { chunkFileNames: 'graft-[name]-[hash].js' } },
  },
});
