// Builds dist/browser/graft.js with Vite and prints its size; fails when the bundle still names a Node module.

import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const config = new URL('./browser.config.ts', import.meta.url).pathname;
await build({ configFile: config });
const out = new URL('../../dist/browser/graft.js', import.meta.url).pathname;
const code = readFileSync(out);
const nodeRefs = [...new Set(code.toString('utf8').match(/\b(node:[a-z_/]+|require\("[a-z_]+"\))/g) ?? [])];
if (nodeRefs.length > 0) {
  console.error(`build:browser: ${out} refers to Node modules: ${nodeRefs.join(', ')}`);
  process.exit(1);
}
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`build:browser: ${out} ${kb(statSync(out).size)} (${kb(gzipSync(code).length)} gzipped), source map ${kb(statSync(`${out}.map`).size)}`);
