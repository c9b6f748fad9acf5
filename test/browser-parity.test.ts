// Parity: the same model, weights and batch give the same logits in headless Chromium (WebGPU on SwiftShader)
// and in Node (Dawn), within 1e-5 relative. Chromium without a WebGPU adapter fails this test; it never skips.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright';
import { buildBrowserBundle } from '../tools/browser/bundle.js';
import { buildParityModel, parityBatch, parityLogits, parityWeights, writeParityWeights } from './browser/parity-model.js';
import type { ParityResult } from './browser/parity-entry.js';
import { launchChromium } from '../tools/browser/chromium.js';
import { blankPage, serveStatic, type StaticServer } from '../tools/browser/static-server.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

/** max |a - b| / max |b|: the error relative to the logits' scale (elements near 0 carry no relative meaning). */
function relativeError(got: readonly number[], want: readonly number[]): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
}

describe('Node and Chromium give the same logits', () => {
  let dir = '';
  let server: StaticServer | null = null;
  let browser: Browser | null = null;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-parity-'));
    await buildBrowserBundle({ parity: 'test/browser/parity-entry.ts' }, dir);
    writeFileSync(join(dir, 'index.html'), blankPage('graft parity'));
    server = await serveStatic({ '/': dir });
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

  it('conv + BN + depthwise + dense: inference and training-mode logits within 1e-5 relative', async () => {
    const model = buildParityModel();
    const weights = parityWeights(model, 7);
    const batch = parityBatch(99);
    writeParityWeights(model, weights);
    const node = await parityLogits(model, batch);

    // NOTE: a string, not a function: tsx's keepNames would put `__name(...)` calls into a serialized function.
    const web = (await page.evaluate(
      `import('/parity.js').then((m) => m.runParity(${JSON.stringify(weights)}, ${JSON.stringify(batch)}))`,
    )) as ParityResult;

    expect(web.adapter).toMatch(/\S/);
    expect(web.inference.every(Number.isFinite) && web.training.every(Number.isFinite), 'finite logits in Chromium').toBe(true);
    const inf = relativeError(web.inference, node.inference);
    const tr = relativeError(web.training, node.training);
    console.log(`parity (Chromium: ${web.adapter}): inference ${inf.toExponential(2)}, training ${tr.toExponential(2)} relative`);
    expect(inf, 'inference logits').toBeLessThanOrEqual(1e-5);
    expect(tr, 'training-mode logits').toBeLessThanOrEqual(1e-5);
    // NOTE: the two modes differ (batch vs moving statistics), so the comparison sees the BN path that ran.
    expect(relativeError(node.training, node.inference)).toBeGreaterThan(1e-3);
  });
});
