// A headless Chromium page on http://127.0.0.1 with one browser entry bundled by Vite and importable as `/<name>.js`,
// opened before a test file's tests and closed after them. Chromium without WebGPU fails the tests that use it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll } from 'vitest';
import { buildBrowserBundle } from '../../tools/browser/bundle.js';
import { launchChromium } from '../../tools/browser/chromium.js';
import { blankPage, serveStatic, type StaticServer } from '../../tools/browser/static-server.js';

/** Bundles `entry` (relative to the repository root) as `/<name>.js`, serves it with `mounts`, and opens a page. */
export function useBundledPage(name: string, entry: string, mounts: Record<string, string> = {}): () => Page {
  let dir = '';
  let server: StaticServer | null = null;
  let browser: Browser | null = null;
  let page: Page | null = null;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `graft-${name}-`));
    await buildBrowserBundle({ [name]: entry }, dir);
    writeFileSync(join(dir, 'index.html'), blankPage(`graft ${name}`));
    server = await serveStatic({ '/': dir, ...mounts });
    browser = await launchChromium();
    page = await browser.newPage();
    // NOTE: an http://127.0.0.1 page is a secure context; about:blank has no navigator.gpu.
    await page.goto(`${server.origin}/index.html`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!page) throw new Error(`the ${name} page is not open (its beforeAll failed)`);
    return page;
  };
}
