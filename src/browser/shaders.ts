/// <reference types="vite/client" />
// Every WGSL file of shaders/, inlined into the browser build by Vite (import.meta.glob with ?raw).

const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

/** WGSL text by shader name (the file name without .wgsl). */
export const bundledShaders: ReadonlyMap<string, string> = new Map(
  Object.entries(files).map(([path, code]) => [path.slice(path.lastIndexOf('/') + 1, -'.wgsl'.length), code]),
);
