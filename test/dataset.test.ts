// imageDatasetFromDirectory on a temporary folder of generated images (PNG, JPEG, WebP, greyscale, RGBA, CMYK,
// one corrupt file): labels, class names, batch counts, shapes, pixel values, splits, seeding, stages, prefetch.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as g from '../src/index.js';
import { imageDatasetFromDirectory, type ImageBatch, type Dataset } from '../src/data/index.js';
import { useDevice } from './helpers/gpu.js';
import { sharedPath, sharedSkipReason } from './helpers/shared.js';

useDevice();

let root = '';

interface Fixture {
  /** Path relative to the root. */
  file: string;
  /** The solid colour written, as RGB (undefined for the corrupt file). */
  rgb?: [number, number, number];
  /** Largest channel error allowed after decoding (lossy formats). */
  tol?: number;
}

// NOTE: every image is a distinct solid colour, so a batch row identifies its file.
const FIXTURES: Fixture[] = [
  { file: 'a_green/g0.png', rgb: [0, 100, 0] },
  { file: 'a_green/g1.png', rgb: [0, 120, 0] },
  { file: 'a_green/g2.png', rgb: [0, 140, 0] },
  { file: 'a_green/g3.png', rgb: [10, 160, 20] }, // RGBA: alpha is dropped, not composited
  { file: 'a_green/grey.png', rgb: [77, 77, 77] }, // one-channel PNG
  { file: 'b_red/r0.jpg', rgb: [200, 0, 0], tol: 4 },
  { file: 'b_red/r1.jpg', rgb: [220, 0, 0], tol: 4 },
  { file: 'b_red/r2.JPEG', rgb: [240, 0, 0], tol: 4 },
  { file: 'c_blue/b0.webp', rgb: [0, 0, 180] },
  { file: 'c_blue/b1.webp', rgb: [0, 0, 200] },
  { file: 'c_blue/broken.jpg' },
  { file: 'c_blue/cmyk.jpg', rgb: [255, 255, 255], tol: 3 }, // CMYK JPEG
  { file: 'c_blue/more/nested.png', rgb: [5, 5, 250] },
];
const GOOD = FIXTURES.filter((f) => f.rgb);
const CLASSES = ['a_green', 'b_red', 'c_blue'];
const labelOf = (f: Fixture) => CLASSES.indexOf(f.file.split('/')[0]!);

async function writeFixture(f: Fixture, width: number, height: number): Promise<void> {
  const path = join(root, f.file);
  await mkdir(join(path, '..'), { recursive: true });
  if (!f.rgb) {
    // A JPEG signature followed by garbage: recognised by extension, undecodable.
    await writeFile(path, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('not really a jpeg'.repeat(20))]));
    return;
  }
  const [r, gg, b] = f.rgb;
  const rgba = f.file.endsWith('g3.png');
  let img = sharp({ create: { width, height, channels: rgba ? 4 : 3, background: { r, g: gg, b, alpha: rgba ? 0.5 : 1 } } });
  if (f.file.endsWith('grey.png')) img = img.greyscale();
  if (f.file.endsWith('cmyk.jpg')) await img.toColourspace('cmyk').jpeg({ quality: 100 }).toFile(path);
  else if (/\.jpe?g$/i.test(f.file)) await img.jpeg({ quality: 100 }).toFile(path);
  else if (f.file.endsWith('.webp')) await img.webp({ lossless: true }).toFile(path);
  else await img.png().toFile(path);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'graft-dataset-'));
  for (const [i, f] of FIXTURES.entries()) await writeFixture(f, 9 + (i % 4), 7 + (i % 3));
  await writeFile(join(root, 'c_blue', 'notes.txt'), 'not an image');
  await writeFile(join(root, 'stray.png'), 'files beside the class folders are ignored');
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Mean colour of each image of a batch, rounded. */
async function colours(batch: ImageBatch): Promise<[number, number, number][]> {
  const [b, h, w] = batch.x.shape as [number, number, number, number];
  const v = await batch.x.data();
  const out: [number, number, number][] = [];
  for (let i = 0; i < b; i++) {
    const m = [0, 0, 0];
    for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) m[c]! += v[(i * h * w + p) * 3 + c]!;
    out.push(m.map((s) => Math.round(s / (h * w))) as [number, number, number]);
  }
  return out;
}

/** The fixture whose colour is nearest to `rgb`. */
function identify(rgb: readonly number[]): Fixture {
  let best = GOOD[0]!;
  let dist = Infinity;
  for (const f of GOOD) {
    const d = f.rgb!.reduce((s, c, k) => s + Math.abs(c - rgb[k]!), 0);
    if (d < dist) [best, dist] = [f, d];
  }
  return best;
}

/** Every batch of one epoch: file identities and labels, disposing the tensors. */
async function epoch(ds: Dataset<ImageBatch>): Promise<{ files: string[]; labels: number[]; sizes: number[] }> {
  const files: string[] = [];
  const labels: number[] = [];
  const sizes: number[] = [];
  for await (const batch of ds) {
    for (const c of await colours(batch)) files.push(identify(c).file);
    labels.push(...(await batch.y.array()));
    sizes.push(batch.x.shape[0]!);
    batch.x.dispose();
    batch.y.dispose();
  }
  return { files, labels, sizes };
}

const quiet = { verbose: false } as const;

describe('imageDatasetFromDirectory', () => {
  it('labels sorted class folders, counts batches and decodes every format to exact RGB', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const ds = await imageDatasetFromDirectory(root, { ...quiet, imageSize: [6, 5], batchSize: 13, shuffle: false });
    expect(ds.classNames).toEqual(CLASSES);
    expect(ds.filePaths.length).toBe(13);
    expect(ds.numBatches).toBe(1);
    const it = ds[Symbol.asyncIterator]();
    const { value: batch } = (await it.next()) as IteratorResult<ImageBatch>;
    expect(batch.x.shape).toEqual([12, 6, 5, 3]);
    expect(batch.x.dtype).toBe('float32');
    expect(batch.y.shape).toEqual([12]);
    expect(batch.y.dtype).toBe('int32');
    expect(await batch.y.array()).toEqual(GOOD.map(labelOf));
    const v = await batch.x.data();
    GOOD.forEach((f, i) => {
      for (let p = 0; p < 30; p++) {
        for (let c = 0; c < 3; c++) {
          const got = v[(i * 30 + p) * 3 + c]!;
          expect(Math.abs(got - f.rgb![c]!), `${f.file} pixel ${p} channel ${c}: ${got}`).toBeLessThanOrEqual(f.tol ?? 0);
        }
      }
    });
    expect((await it.next()).done).toBe(true);
    await epoch(ds);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/skipping unreadable image .*c_blue\/broken\.jpg/);
    warn.mockRestore();
  });

  it('yields one-hot categorical labels, int labels and a smaller last batch', async () => {
    const cat = await imageDatasetFromDirectory(root, { ...quiet, imageSize: [4, 4], batchSize: 5, shuffle: false, labelMode: 'categorical' });
    expect(cat.length).toBe(3);
    const sizes: number[] = [];
    const labels: number[] = [];
    for await (const { x, y } of cat) {
      expect(y.shape).toEqual([x.shape[0], 3]);
      expect(y.dtype).toBe('float32');
      const v = await y.data();
      for (let i = 0; i < x.shape[0]!; i++) {
        const row = Array.from(v.slice(i * 3, i * 3 + 3));
        expect(row.filter((e) => e === 1).length + row.filter((e) => e === 0).length).toBe(3);
        labels.push(row.indexOf(1));
      }
      sizes.push(x.shape[0]!);
    }
    // 13 files in batches of 5; the corrupt file (position 11) leaves 2 in the last batch.
    expect(sizes).toEqual([5, 5, 2]);
    expect(labels).toEqual(GOOD.map(labelOf));
  });

  it('shuffles reproducibly from the seed and differently each epoch', async () => {
    const make = (seed: number) => imageDatasetFromDirectory(root, { ...quiet, imageSize: [3, 3], batchSize: 4, seed });
    const a = await make(5);
    const b = await make(5);
    const a0 = await epoch(a);
    const a1 = await epoch(a);
    expect(await epoch(b)).toEqual(a0);
    expect(await epoch(b)).toEqual(a1);
    expect(a1.files).not.toEqual(a0.files);
    expect([...a0.files].sort()).toEqual(GOOD.map((f) => f.file).sort());
    a0.files.forEach((f, i) => expect(a0.labels[i]).toBe(labelOf(FIXTURES.find((x) => x.file === f)!)));
    expect((await epoch(await make(6))).files).not.toEqual(a0.files);
    // Setting the epoch counter replays that epoch's order (resume).
    const c = await make(5);
    c.epoch = 1;
    expect(await epoch(c)).toEqual(a1);
  });

  it('splits into disjoint training and validation subsets, the same way for each subset and for both', async () => {
    const opts = { ...quiet, imageSize: [3, 3] as [number, number], batchSize: 4, validationSplit: 0.3, seed: 11 };
    const [train, val] = await imageDatasetFromDirectory(root, { ...opts, subset: 'both' });
    expect(val.filePaths.length).toBe(3); // floor(0.3 * 13)
    expect(train.filePaths.length).toBe(10);
    expect(train.numBatches).toBe(3);
    expect(val.numBatches).toBe(1);
    const all = new Set([...train.filePaths, ...val.filePaths]);
    expect(all.size).toBe(13);
    expect((await imageDatasetFromDirectory(root, { ...opts, subset: 'training' })).filePaths).toEqual(train.filePaths);
    expect((await imageDatasetFromDirectory(root, { ...opts, subset: 'validation' })).filePaths).toEqual(val.filePaths);
    const other = await imageDatasetFromDirectory(root, { ...opts, seed: 12, subset: 'validation' });
    expect(other.filePaths).not.toEqual(val.filePaths);
    // Validation of 'both' keeps a fixed order across epochs.
    expect(await epoch(val)).toEqual(await epoch(val));
  });

  it('take, map and cache', async () => {
    const base = await imageDatasetFromDirectory(root, { ...quiet, imageSize: [3, 3], batchSize: 3, shuffle: false });
    const two = base.take(2);
    expect(two.length).toBe(2);
    expect((await epoch(two)).sizes).toEqual([3, 3]);
    expect(base.take(100).length).toBe(5);
    const seen: g.Tensor[] = [];
    const scaled = base.take(1).map(({ x, y }) => {
      seen.push(x);
      return { x: g.affine(x, 1 / 255, 0), y };
    });
    const { value } = (await scaled[Symbol.asyncIterator]().next()) as IteratorResult<ImageBatch>;
    expect(seen[0]!.isDisposed).toBe(true);
    const v = await value.x.data();
    expect(v[1]).toBeCloseTo(100 / 255, 6);
    expect(value.y.isDisposed).toBe(false);

    // Caching keeps decoded pixels: a file deleted after the first epoch is still served; uncached, it is skipped.
    const copy = await mkdtemp(join(tmpdir(), 'graft-dataset-cache-'));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await cp(root, copy, { recursive: true });
      const opts = { ...quiet, imageSize: [3, 3] as [number, number], batchSize: 4, seed: 3 };
      const cached = (await imageDatasetFromDirectory(copy, opts)).cache();
      const plain = await imageDatasetFromDirectory(copy, opts);
      const first = await epoch(cached);
      await epoch(plain);
      await rm(join(copy, 'a_green', 'g0.png'));
      const second = await epoch(cached);
      expect(second.files.length).toBe(12);
      expect(second.files).not.toEqual(first.files);
      expect((await epoch(plain)).files.length).toBe(11);
    } finally {
      warn.mockRestore();
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('decodes the next batch while the consumer holds the current one (prefetch)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    // Unshuffled, batches of 4: the corrupt file (position 10) is in batch 2, which starts decoding once batch 1 is taken.
    const copy = await mkdtemp(join(tmpdir(), 'graft-dataset-prefetch-'));
    try {
      await cp(root, copy, { recursive: true });
      const ds = await imageDatasetFromDirectory(copy, { ...quiet, imageSize: [3, 3], batchSize: 4, shuffle: false });
      const it = ds[Symbol.asyncIterator]();
      await it.next();
      expect(warn).not.toHaveBeenCalled();
      await it.next();
      for (let i = 0; i < 100 && warn.mock.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(warn).toHaveBeenCalledTimes(1);
      await it.return?.();
    } finally {
      warn.mockRestore();
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('fails clearly on missing, empty or image-less folders and on bad options', async () => {
    await expect(imageDatasetFromDirectory(join(root, 'nope'), quiet)).rejects.toThrow(/directory not found: .*nope/);
    const empty = await mkdtemp(join(tmpdir(), 'graft-dataset-empty-'));
    try {
      await expect(imageDatasetFromDirectory(empty, quiet)).rejects.toThrow(/no class subfolders in .*graft-dataset-empty-/);
      await mkdir(join(empty, 'cls'));
      await writeFile(join(empty, 'cls', 'readme.txt'), 'x');
      await expect(imageDatasetFromDirectory(empty, quiet)).rejects.toThrow(/no images found in .*graft-dataset-empty-/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    await expect(imageDatasetFromDirectory(root, { ...quiet, validationSplit: 0.2, subset: 'training' })).rejects.toThrow(/needs a seed/);
    await expect(imageDatasetFromDirectory(root, { ...quiet, validationSplit: 0.2 })).rejects.toThrow(/validationSplit and subset go together/);
    await expect(imageDatasetFromDirectory(root, { ...quiet, imageSize: [0, 4] })).rejects.toThrow(/imageSize must be/);
    await expect(imageDatasetFromDirectory(root, { ...quiet, interpolation: 'area' as 'bilinear' })).rejects.toThrow(/unknown interpolation 'area'/);
    await expect(imageDatasetFromDirectory(root, { ...quiet, classNames: ['a_green', 'zebra'] })).rejects.toThrow(/class folder 'zebra' not found/);
    await expect(imageDatasetFromDirectory(root, { ...quiet, labelMode: 'binary' })).rejects.toThrow(/exactly 2 classes/);
  });

  it('prints Keras-style counts when verbose', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await imageDatasetFromDirectory(root, { validationSplit: 0.25, subset: 'validation', seed: 1 });
    expect(log.mock.calls.map((c) => c[0])).toEqual(['Found 13 files belonging to 3 classes.', 'Using 3 files for validation.']);
    log.mockRestore();
  });
});

describe('food10 (../shared/data/food10)', () => {
  const food = sharedPath('data', 'food10');
  const present = sharedSkipReason('food10 dataset test', join(food, 'train'), join(food, 'test')) === null;

  it.skipIf(!present)('has 10 classes, 75 train and 50 test images per class, and decodes a batch', async () => {
    const train = await imageDatasetFromDirectory(join(food, 'train'), { ...quiet, imageSize: [32, 32], batchSize: 32, labelMode: 'categorical', seed: 1 });
    const test = await imageDatasetFromDirectory(join(food, 'test'), { ...quiet, imageSize: [32, 32], batchSize: 32, shuffle: false });
    expect(train.classNames.length).toBe(10);
    expect(test.classNames).toEqual(train.classNames);
    expect(train.filePaths.length).toBe(750);
    expect(test.filePaths.length).toBe(500);
    expect(train.numBatches).toBe(24);
    expect(test.numBatches).toBe(16);
    const [val, rest] = [
      await imageDatasetFromDirectory(join(food, 'test'), { ...quiet, validationSplit: 0.25, subset: 'validation', seed: 1 }),
      await imageDatasetFromDirectory(join(food, 'test'), { ...quiet, validationSplit: 0.25, subset: 'training', seed: 1 }),
    ];
    expect([val.filePaths.length, rest.filePaths.length]).toEqual([125, 375]);
    for await (const { x, y } of train.take(1)) {
      expect(x.shape).toEqual([32, 32, 32, 3]);
      expect(y.shape).toEqual([32, 10]);
      const v = await x.data();
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...v)).toBeLessThanOrEqual(255);
      expect(Math.max(...v)).toBeGreaterThan(100);
      x.dispose();
      y.dispose();
    }
  });
});
