// `graft evaluate --model <file> --data <folder>`: loss and accuracy of a trained classifier over a class-folder
// tree, printed as `loss: 0.5123` and `accuracy: 0.8123`. Folders map to the model's class names.

import { existsSync } from 'node:fs';

/** The flags of `graft evaluate`. */
export interface EvaluateFlags {
  model: string;
  data: string;
  batchSize?: string;
  classes?: string;
  imageSize?: string;
  inputRange?: string;
  fromLogits?: boolean;
}

/** Runs evaluate; returns the exit code. User errors throw one-line messages. */
export async function evaluateCommand(f: EvaluateFlags): Promise<number> {
  const batchSize = Number(f.batchSize ?? 32);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch-size must be a positive integer, got '${f.batchSize}'`);
  if (!existsSync(f.data)) throw new Error(`data folder not found: ${f.data}`);
  if (!existsSync(f.model)) throw new Error(`model file not found: ${f.model}`);
  const imageSize = f.imageSize === undefined ? undefined : Number(f.imageSize);
  const { init } = await import('../src/tensor/engine.js');
  const { imageDatasetFromDirectory } = await import('../src/data/index.js');
  const { getLoss } = await import('../src/train/losses.js');
  const { loadClassifier } = await import('./demo/load-classifier.js');
  const { affine } = await import('../src/ops/elementwise.js');
  const { noGrad } = await import('../src/tensor/engine.js');
  await init();
  const c = await loadClassifier(f.model, { classes: f.classes, imageSize, inputRange: f.inputRange });
  try {
    const ds = await imageDatasetFromDirectory(f.data, {
      imageSize: [c.height, c.width], batchSize, labelMode: 'categorical', shuffle: false, verbose: true,
      ...(c.classNames ? { classNames: c.classNames } : {}),
    });
    if (ds.classNames.length !== c.classes) {
      throw new Error(`${f.data} has ${ds.classNames.length} class folders but the model has ${c.classes} classes (give the model's class names with --classes)`);
    }
    if (!c.classNames) console.log(`(no class names for ${f.model}: class folders are taken in sorted order)`);
    const data = c.scale === 1 && c.offset === 0 ? ds : ds.map((b) => ({ x: noGrad(() => affine(b.x, c.scale, c.offset)), y: b.y }));
    // NOTE: a fresh compile: evaluate needs only the loss and metric, not a saved optimizer.
    (c.model.optimizer as { dispose?: () => void } | null)?.dispose?.();
    c.model.compile({ optimizer: 'sgd', loss: getLoss('categoricalCrossentropy', { fromLogits: f.fromLogits ?? false }), metrics: ['accuracy'] });
    const logs = await c.model.evaluate(data);
    console.log(`loss: ${logs.loss!.toFixed(4)}`);
    console.log(`accuracy: ${logs.accuracy!.toFixed(4)}`);
    return 0;
  } finally {
    c.model.dispose();
  }
}
