// Class names travel with a trained classifier: in the model file's safetensors metadata (`classNames`, a JSON
// array) and, for files that lack it (per-epoch checkpoints, ONNX exports), in a `classes.json` beside the file.

import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { readSafetensors, writeSafetensors, type SafetensorsEntry } from '../../src/io/safetensors.js';
import type { Model } from '../../src/train/model.js';

/** The safetensors metadata key holding the class names (a JSON array of strings). */
export const CLASS_NAMES_KEY = 'classNames';
/** The file beside a model that lists its class names (a JSON array of strings). */
export const CLASSES_FILE = 'classes.json';

function parseNames(raw: string, where: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    // NOTE: a plain text file with one name per line is accepted too (e.g. imagenet_labels.txt).
    return raw.split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  }
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`${where}: class names must be a JSON array of strings`);
  return v as string[];
}

/** model.save(path), with the class names added to the file's metadata (so the one file is self-describing). */
export async function saveClassifier(model: Model, path: string, classNames: readonly string[]): Promise<void> {
  await model.save(path);
  const file = await readSafetensors(path);
  const entries: SafetensorsEntry[] = [...file.tensors].map(([name, t]) => ({ name, shape: t.shape, dtype: t.dtype, data: t.data }));
  await writeSafetensors(path, entries, { ...file.metadata, [CLASS_NAMES_KEY]: JSON.stringify(classNames) });
}

/** Writes `classes.json` into a folder. */
export async function writeClassesFile(dir: string, classNames: readonly string[]): Promise<void> {
  await writeFile(join(dir, CLASSES_FILE), `${JSON.stringify(classNames)}\n`);
}

/**
 * The class names of a model file: an explicit list file when given, else the file's `classNames` metadata
 * (safetensors), else `classes.json` in its folder or the folder above; null when none is found.
 */
export async function readClassNames(modelPath: string, explicit?: string): Promise<string[] | null> {
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`class names file not found: ${explicit}`);
    return parseNames(readFileSync(explicit, 'utf8'), explicit);
  }
  if (extname(modelPath).toLowerCase() === '.safetensors') {
    const raw = (await readSafetensors(modelPath)).metadata[CLASS_NAMES_KEY];
    if (raw !== undefined) return parseNames(raw, modelPath);
  }
  for (const dir of [dirname(modelPath), dirname(dirname(modelPath))]) {
    const f = join(dir, CLASSES_FILE);
    if (existsSync(f)) return parseNames(readFileSync(f, 'utf8'), f);
  }
  return null;
}
