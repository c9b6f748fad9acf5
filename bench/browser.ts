// `npm run bench -- browser`: MobileNetV2 (the shared ONNX file) inside headless Chromium, Graft and TensorFlow.js
// (tfjs-backend-webgpu) in the same page on the same WebGPU adapter (SwiftShader on a machine without a GPU).
// Node side: bundles bench/browser/page.ts with Vite, serves it and the weights on 127.0.0.1, and collects the rows.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MOBILENET_V2_WEIGHTS } from '../src/applications/mobilenet-v2.js';
import { buildBrowserBundle } from '../tools/browser/bundle.js';
import { launchChromium } from '../tools/browser/chromium.js';
import { blankPage, serveStatic } from '../tools/browser/static-server.js';
import type { BenchRow, Suite } from './harness.js';
import type { PageOptions, PageResult } from './browser/page.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Input size in the browser: SwiftShader runs 2-4x slower than lavapipe, so 96x96 rather than 224x224. */
export const BROWSER_SIZE = 96;

const suite: Suite = async (ctx): Promise<BenchRow[]> => {
  const weights = resolve(ROOT, MOBILENET_V2_WEIGHTS);
  if (!existsSync(weights)) throw new Error(`browser bench: ${weights} not found (the ImageNet MobileNetV2 ONNX file)`);
  const dir = mkdtempSync(join(tmpdir(), 'graft-browser-bench-'));
  try {
    const t0 = performance.now();
    const bundle = await buildBrowserBundle({ 'browser-bench': 'bench/browser/page.ts' }, dir);
    writeFileSync(join(dir, 'index.html'), blankPage('graft browser bench'));
    const stubs = [...bundle.externalized.keys()].sort().join(', ');
    ctx.log(`bundle built in ${((performance.now() - t0) / 1000).toFixed(1)} s${stubs ? `; Node-only imports stubbed (never called in the page): ${stubs}` : ''}`);
    const server = await serveStatic({ '/': dir, '/weights/': dirname(weights) });
    try {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        page.on('console', (m) => ctx.log(`page: ${m.text()}`));
        await page.goto(`${server.origin}/index.html`);
        const options: PageOptions = {
          weightsUrl: `/weights/${basename(weights)}`,
          size: BROWSER_SIZE,
          inferBatches: ctx.quick ? [1] : [1, 8],
          trainBatch: ctx.quick ? 2 : 8,
          unfrozen: 10,
          iters: ctx.quick ? 1 : 2,
        };
        // NOTE: a string, not a function: tsx's keepNames would put `__name(...)` calls into a serialized function.
        const result = (await page.evaluate(
          `import('/browser-bench.js').then((m) => m.runBrowserBench(${JSON.stringify(options)}))`,
        )) as PageResult;
        ctx.log(`Chromium WebGPU adapter: ${result.adapter}`);
        for (const c of result.checks) ctx.log(`check: ${c}`);
        if (result.tfjsError) ctx.log(`peer left out: ${result.tfjsError}`);
        return result.rows;
      } finally {
        await browser.close();
      }
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default suite;
