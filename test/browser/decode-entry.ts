// Browser entry of the decoding test: Graft's browser platform decodes (createImageBitmap) and resizes images.

import { data, init } from '../../src/browser/index.js';

/** Each URL decoded and resized to height x width, as plain arrays (pixels 0..255). */
export async function decodeUrls(urls: string[], height: number, width: number, crop: boolean): Promise<number[][]> {
  return Promise.all(urls.map(async (u) => Array.from(await data.decodeImage(new URL(u, location.href), height, width, { cropToAspectRatio: crop }))));
}

/** The first batch of imageDatasetFromFiles over fetched Blobs (the files a page gets from a picker or a drop). */
export async function firstBatch(urls: string[], labels: string[], size: number): Promise<{ x: number[]; y: number[] }> {
  await init();
  const blobs = await Promise.all(urls.map(async (u) => (await fetch(u)).blob()));
  const ds = await data.imageDatasetFromFiles(blobs.map((source, i) => ({ source, label: labels[i]! })), {
    imageSize: [size, size], batchSize: urls.length, labelMode: 'int', shuffle: false, verbose: false,
  });
  for await (const b of ds) {
    const out = { x: Array.from(await b.x.data()), y: Array.from(await b.y.data()) };
    b.x.dispose();
    b.y.dispose();
    return out;
  }
  throw new Error('no batch');
}
