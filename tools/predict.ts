// `graft predict <images...> --model <file>`: the top-k classes of each image, with class names when the model
// carries them (safetensors metadata `classNames`, or a classes.json beside the file, or --classes).

import { readdirSync, statSync, existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Classifier } from './demo/load-classifier.js';
import { readClassNames } from './demo/class-names.js';

/** The flags of `graft predict`. */
export interface PredictFlags {
  model: string;
  top?: string;
  classes?: string;
  imageSize?: string;
  inputRange?: string;
  json?: boolean;
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif']);

/** Image files: given files as they are, folders expanded to their image files (sorted, not recursive). */
function expandImages(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (!existsSync(a)) throw new Error(`image not found: ${a}`);
    if (statSync(a).isDirectory()) {
      const files = readdirSync(a).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
      if (files.length === 0) throw new Error(`no images in ${a} (looked for ${[...IMAGE_EXT].join(', ')})`);
      out.push(...files.map((f) => join(a, f)));
    } else {
      out.push(a);
    }
  }
  return out;
}

/** Softmax of each row, unless the rows already are probabilities. */
function asProbabilities(v: Float32Array, classes: number): Float32Array {
  const rows = v.length / classes;
  let probs = true;
  for (let r = 0; r < rows && probs; r++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const p = v[r * classes + c]!;
      if (p < 0) probs = false;
      sum += p;
    }
    if (Math.abs(sum - 1) > 1e-3) probs = false;
  }
  if (probs) return v;
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) {
    const row = v.subarray(r * classes, (r + 1) * classes);
    const m = Math.max(...row);
    let sum = 0;
    row.forEach((x, c) => (sum += out[r * classes + c] = Math.exp(x - m)));
    for (let c = 0; c < classes; c++) out[r * classes + c]! /= sum;
  }
  return out;
}

/** `--model` names that are not files: keras.applications models with ImageNet weights, fetched once into the cache. */
const APPLICATIONS = ['efficientnet-b0'] as const;

/** EfficientNet-B0 with Keras' ImageNet weights and ImageNet's class names (fetched into $GRAFT_HOME/models). */
async function imagenetClassifier(classesFile: string | undefined): Promise<Classifier> {
  const { efficientNetB0, imagenetClassNames } = await import('../src/applications/index.js');
  const { nodeModelFileCache } = await import('../src/node/model-cache.js');
  const cache = nodeModelFileCache();
  const model = await efficientNetB0({ weights: 'imagenet', includeTop: true, cache });
  let classNames: string[] | null = null;
  if (classesFile) {
    classNames = await readClassNames('', classesFile);
    // NOTE: TF-slim label files (e.g. imagenet_labels.txt) put 'background' before the 1000 classes.
    if (classNames?.length === 1001) classNames = classNames.slice(1);
    if (classNames?.length !== 1000) throw new Error(`${classesFile} has ${classNames?.length ?? 0} class names; EfficientNet-B0 has 1000`);
  } else {
    try {
      classNames = await imagenetClassNames(cache);
    } catch (e) {
      console.error(`(no ImageNet class names: ${(e as Error).message}; printing indices)`);
    }
  }
  // NOTE: Keras' B0 takes 0..255 pixels and rescales and normalizes inside the model.
  return { model, height: 224, width: 224, classes: 1000, classNames, scale: 1, offset: 0 };
}

/** Runs predict; returns the exit code. User errors throw one-line messages. */
export async function predictCommand(images: string[], f: PredictFlags): Promise<number> {
  const top = Number(f.top ?? 3);
  if (!Number.isInteger(top) || top < 1) throw new Error(`--top must be a positive integer, got '${f.top}'`);
  const imageSize = f.imageSize === undefined ? undefined : Number(f.imageSize);
  const files = expandImages(images);
  const application = (APPLICATIONS as readonly string[]).includes(f.model);
  if (!application && !existsSync(f.model)) throw new Error(`model file not found: ${f.model} (or name a pretrained model: ${APPLICATIONS.join(', ')})`);
  const { init } = await import('../src/tensor/engine.js');
  const { tensor } = await import('../src/tensor/tensor.js');
  const { noGrad } = await import('../src/tensor/engine.js');
  const { decodeImage } = await import('../src/data/decode.js');
  const { loadClassifier } = await import('./demo/load-classifier.js');
  await init();
  const c = application ? await imagenetClassifier(f.classes) : await loadClassifier(f.model, { classes: f.classes, imageSize, inputRange: f.inputRange });
  const per = c.height * c.width * 3;
  const results: { image: string; top: { class: string; index: number; probability: number }[] }[] = [];
  const batch = 16;
  for (let i = 0; i < files.length; i += batch) {
    const group = files.slice(i, i + batch);
    const pixels = new Float32Array(group.length * per);
    for (const [k, file] of group.entries()) {
      let raw: Uint8Array;
      try {
        raw = await decodeImage(file, c.height, c.width);
      } catch (e) {
        throw new Error(`cannot read image ${file}: ${(e as Error).message.split('\n')[0]}`);
      }
      for (let j = 0; j < per; j++) pixels[k * per + j] = raw[j]! * c.scale + c.offset;
    }
    const x = tensor(pixels, [group.length, c.height, c.width, 3]);
    const y = noGrad(() => c.model.apply(x));
    const probs = asProbabilities((await y.data()) as Float32Array, c.classes);
    x.dispose();
    y.dispose();
    group.forEach((image, k) => {
      const row = [...probs.subarray(k * c.classes, (k + 1) * c.classes)].map((p, index) => ({ index, probability: p }));
      row.sort((a, b) => b.probability - a.probability);
      results.push({
        image,
        top: row.slice(0, top).map((r) => ({ class: c.classNames?.[r.index] ?? `class ${r.index}`, index: r.index, probability: r.probability })),
      });
    });
  }
  c.model.dispose();
  if (f.json) {
    console.log(JSON.stringify(results, null, 1));
  } else {
    if (!c.classNames) console.log(`(no class names for ${f.model}: printing indices; pass --classes FILE or put a classes.json beside it)`);
    for (const r of results) {
      console.log(r.image);
      r.top.forEach((t, k) => console.log(`  ${k + 1}. ${t.class.padEnd(24)} ${t.probability.toFixed(4)}`));
    }
  }
  return 0;
}
