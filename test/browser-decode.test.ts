// Image decoding in Chromium (createImageBitmap + OffscreenCanvas) and in Node (sharp) gives the same model inputs:
// both decode the shared photos at their stored size and Graft's one resampler (src/data/resize.ts) resizes them,
// so every pixel agrees within 1/255. Needs ../shared (skipped with the reason printed when absent); Chromium
// without WebGPU fails the test, it never skips.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { data } from '../src/index.js';
import { useBundledPage } from './helpers/bundled-page.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const PHOTOS = join(import.meta.dirname, '..', '..', 'shared', 'data', 'photos');
const present = existsSync(PHOTOS);
if (!present) console.log(`browser-decode.test: skipped, ${PHOTOS} is absent (../shared is not mounted)`);
const FILES = present ? readdirSync(PHOTOS).filter((f) => f.endsWith('.jpg')).sort() : [];

/** Largest |a - b| over two byte arrays of the same length. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.skipIf(!present)('decoding and resizing in Chromium and in Node', () => {
  const page = useBundledPage('decode', 'test/browser/decode-entry.ts', { '/photos/': PHOTOS });

  it.each([
    [64, 64, false],
    [96, 128, true],
  ])('decodeImage at %ix%i (crop %s): every pixel within 1/255 on the shared photos', async (h, w, crop) => {
    const urls = FILES.map((f) => `/photos/${f}`);
    // NOTE: a string, not a function: tsx's keepNames would put `__name(...)` calls into a serialized function.
    const web = (await page().evaluate(`import('/decode.js').then((m) => m.decodeUrls(${JSON.stringify(urls)}, ${h}, ${w}, ${crop}))`)) as number[][];
    const worst: string[] = [];
    for (const [i, f] of FILES.entries()) {
      const node = await data.decodeImage(join(PHOTOS, f), h, w, { cropToAspectRatio: crop });
      expect(node.length).toBe(h * w * 3);
      const d = maxDiff(web[i]!, node);
      worst.push(`${f} ${d}`);
      expect(d, `${f}: max difference in 0..255 units`).toBeLessThanOrEqual(1);
    }
    console.log(`decode ${h}x${w}${crop ? ' crop' : ''}: max |Chromium - Node| per photo: ${worst.join(', ')}`);
  });

  it('imageDatasetFromFiles gives the batch Node gives for the same files and labels', async () => {
    const urls = FILES.map((f) => `/photos/${f}`);
    const labels = FILES.map((f) => f.split('_')[0]!);
    const web = (await page().evaluate(`import('/decode.js').then((m) => m.firstBatch(${JSON.stringify(urls)}, ${JSON.stringify(labels)}, 48))`)) as { x: number[]; y: number[] };
    const ds = await data.imageDatasetFromFiles(FILES.map((f, i) => ({ source: join(PHOTOS, f), label: labels[i]! })), {
      imageSize: [48, 48], batchSize: FILES.length, labelMode: 'int', shuffle: false, verbose: false,
    });
    for await (const b of ds) {
      expect(Array.from(await b.y.data())).toEqual(web.y);
      expect(maxDiff(web.x, await b.x.data())).toBeLessThanOrEqual(1);
      b.x.dispose();
      b.y.dispose();
    }
    expect(new Set(web.y).size).toBe(2);
  });
});
