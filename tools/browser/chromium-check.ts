// Node-only: asks headless Chromium for a WebGPU adapter on a 127.0.0.1 page and describes it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './chromium.js';
import { blankPage, serveStatic } from './static-server.js';

/** What the page found: the adapter in words, or why there is none. */
export type ChromiumWebGpu = { ok: true; adapter: string; features: string[] } | { ok: false; reason: string };

// NOTE: a string, not a function: tsx's keepNames would put `__name(...)` calls into a serialized function.
const PROBE = `(async () => {
  if (!navigator.gpu) return { ok: false, reason: 'navigator.gpu is undefined (WebGPU disabled or not a secure context)' };
  const a = await navigator.gpu.requestAdapter();
  if (!a) return { ok: false, reason: 'navigator.gpu.requestAdapter() returned null' };
  const i = a.info;
  return { ok: true, adapter: [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' '), features: [...a.features].sort() };
})()`;

/** Launches Chromium once with Graft's flags and requests a WebGPU adapter on an http://127.0.0.1 page. */
export async function probeChromiumWebGpu(): Promise<ChromiumWebGpu> {
  const dir = mkdtempSync(join(tmpdir(), 'graft-probe-'));
  writeFileSync(join(dir, 'index.html'), blankPage('graft webgpu probe'));
  const server = await serveStatic({ '/': dir });
  try {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${server.origin}/index.html`);
      return (await page.evaluate(PROBE)) as ChromiumWebGpu;
    } finally {
      await browser.close();
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
