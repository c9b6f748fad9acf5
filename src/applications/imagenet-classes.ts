// ImageNet's 1000 class names from Keras' class index file (what keras.applications' decode_predictions reads).

import { IMAGENET_CLASS_INDEX } from './keras-files.js';
import type { ModelFileCache } from './model-file-cache.js';

/** The names in Keras' `imagenet_class_index.json` ({"0": ["n01440764", "tench"], ...}), index order. */
export function parseImagenetClassIndex(bytes: Uint8Array, label: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`Graft: ${label} is not JSON`);
  }
  const entries = v && typeof v === 'object' ? Object.entries(v as Record<string, unknown>) : [];
  const names = new Array<string>(entries.length);
  for (const [k, e] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || !Array.isArray(e) || typeof e[1] !== 'string') {
      throw new Error(`Graft: ${label} is not an ImageNet class index (entry '${k}')`);
    }
    names[i] = e[1];
  }
  if (names.length !== 1000 || names.some((n) => n === undefined)) throw new Error(`Graft: ${label} has ${entries.length} classes, not ImageNet's 1000`);
  return names;
}

/** ImageNet's class names, fetched once into `cache`. */
export async function imagenetClassNames(cache: ModelFileCache): Promise<string[]> {
  return parseImagenetClassIndex(await cache.get(IMAGENET_CLASS_INDEX), cache.locate(IMAGENET_CLASS_INDEX));
}
