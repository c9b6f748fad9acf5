// Builds the web page (web/index.html, its scripts and the training worker) with Vite into one folder.

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/** The page's source folder (web/). */
export const WEB_ROOT = fileURLToPath(new URL('..', import.meta.url));

function listFiles(dir: string, root = dir): { file: string; bytes: number }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? listFiles(p, root) : [{ file: relative(root, p), bytes: statSync(p).size }];
  });
}

/** Bundles the page into `outDir` (emptied first); returns the files written with their sizes in bytes. */
export async function buildPage(outDir: string): Promise<{ file: string; bytes: number }[]> {
  await build({
    root: WEB_ROOT,
    base: './',
    configFile: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false, reportCompressedSize: false },
    worker: { format: 'es' },
  });
  return listFiles(outDir);
}
