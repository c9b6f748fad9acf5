// Builds dist/browser/graft.js with Vite and prints its size; fails when the bundle still names a Node module.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const config = new URL('./browser.config.ts', import.meta.url).pathname;
await build({ configFile: config });
const dir = new URL('../../dist/browser/', import.meta.url).pathname;
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const out = `${dir}graft.js`;
const code = readFileSync(out);
const nodeRefs = [...new Set(code.toString('utf8').match(/\b(node:[a-z_/]+|require\("[a-z_]+"\))/g) ?? [])];
if (nodeRefs.length > 0) {
  console.error(`build:browser: ${out} refers to Node modules: ${nodeRefs.join(', ')}`);
  process.exit(1);
}
console.log(`build:browser: ${out} ${kb(statSync(out).size)} (${kb(gzipSync(code).length)} gzipped), source map ${kb(statSync(`${out}.map`).size)}`);
// NOTE: the only other file is h5wasm's chunk, fetched beside graft.js the first time a Keras .h5 file is read.
for (const f of readdirSync(dir).filter((n) => n.endsWith('.js') && n !== 'graft.js')) {
  console.log(`build:browser: ${dir}${f} ${kb(statSync(`${dir}${f}`).size)}, loaded on demand (Keras .h5 weights)`);
}
