// Parity: the same model, weights and batch give the same logits in headless Chromium (WebGPU on SwiftShader)
// and in Node (Dawn), within 1e-5 relative. Chromium without a WebGPU adapter fails this test; it never skips.

import { describe, expect, it } from 'vitest';
import { buildParityModel, parityBatch, parityLogits, parityWeights, writeParityWeights } from './browser/parity-model.js';
import type { ParityResult } from './browser/parity-entry.js';
import { useBundledPage } from './helpers/bundled-page.js';
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
  const page = useBundledPage('parity', 'test/browser/parity-entry.ts');

  it('conv + BN + depthwise + dense: inference and training-mode logits within 1e-5 relative', async () => {
    const model = buildParityModel();
    const weights = parityWeights(model, 7);
    const batch = parityBatch(99);
    writeParityWeights(model, weights);
    const node = await parityLogits(model, batch);

    // NOTE: a string, not a function: tsx's keepNames would put `__name(...)` calls into a serialized function.
    const web = (await page().evaluate(
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
