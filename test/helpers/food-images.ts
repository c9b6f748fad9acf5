// The first `perClass` photos (sorted) of the first `classes` classes of a food10-style folder, resized with sharp to
// size x size: the real-data tests' small training sets.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { oneHot, tensor, type Tensor } from '../../src/index.js';

/** Pixels [n, size, size, 3] (0..255), one-hot labels [n, classes], and the class names used. */
export async function foodImages(folder: string, size: number, classes: number, perClass: number): Promise<{ x: Tensor; y: Tensor; names: string[] }> {
  const names = readdirSync(folder).sort().slice(0, classes);
  const pixels: number[] = [];
  const labels: number[] = [];
  for (const [c, name] of names.entries()) {
    const files = readdirSync(join(folder, name)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().slice(0, perClass);
    for (const f of files) {
      const raw = await sharp(join(folder, name, f)).resize(size, size, { fit: 'cover' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
      pixels.push(...raw);
      labels.push(c);
    }
  }
  return { x: tensor(pixels, [labels.length, size, size, 3]), y: oneHot(tensor(labels, [labels.length], { dtype: 'int32' }), classes), names };
}
