// A tiny generated image dataset for the demo's tests: train/ and test/ class folders of 40x40 PNGs whose class
// sets the pattern (a disc, stripes, plain).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { rng } from '../../src/tensor/tensor.js';

export const CLASSES = ['circles', 'stripes', 'plain'];

/** train/ and test/ class folders of small generated PNGs whose class sets the pattern. */
export async function makeDataset(root: string): Promise<void> {
  const r = rng(7);
  for (const [split, n] of [['train', 6], ['test', 4]] as const) {
    for (const [c, name] of CLASSES.entries()) {
      mkdirSync(join(root, split, name), { recursive: true });
      for (let i = 0; i < n; i++) {
        const size = 40;
        const px = Buffer.alloc(size * size * 3);
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const on = c === 0 ? (x - 20) ** 2 + (y - 20) ** 2 < 150 : c === 1 ? x % 8 < 4 : false;
            for (let k = 0; k < 3; k++) px[(y * size + x) * 3 + k] = Math.max(0, Math.min(255, (on ? 220 : 60) + 40 * (r() - 0.5)));
          }
        }
        await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(join(root, split, name, `${i}.png`));
      }
    }
  }
}

