// Builds the web page (web/index.html, its scripts and the training worker) with Vite into one folder.

import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
    // NOTE: not node_modules/.vite, which worktrees that share node_modules would share too (as vitest.config.ts).
    cacheDir: join(tmpdir(), `graft-web-vite-${createHash('sha256').update(WEB_ROOT).digest('hex').slice(0, 12)}`),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false, reportCompressedSize: false },
    worker: { format: 'es' },
  });
  return listFiles(outDir);
}
