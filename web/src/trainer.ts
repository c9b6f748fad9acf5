// The transfer-learning run inside the worker: the demo's classifier on the pretrained MobileNetV2, feature extraction
// with the base frozen, then fine-tuning of its last N layers, with a whole-model checkpoint in OPFS every epoch.

import * as graft from '../../src/browser/index.js';
import { ProgressBar } from '../../src/train/progress.js';
import { buildClassifier } from '../../tools/demo/classifier.js';
import type { TrainSettings } from './messages.js';
import { CHECKPOINT_PATTERN } from './run-store.js';

type Model = graft.Model;
type Dataset = graft.data.Dataset<graft.data.ImageBatch>;
type Logs = graft.callbacks.Logs;

/** Training and validation batches of the labelled images. */
export interface RunData {
  train: Dataset;
  validation: Dataset | null;
  classNames: string[];
}

/** Decodes, resizes and batches the images (cached after the first epoch); validation is a seeded split. */
export async function makeDatasets(images: { blob: Blob; label: string }[], s: TrainSettings, classNames: string[]): Promise<RunData> {
  const entries = images.map((i) => ({ source: i.blob, label: i.label }));
  const common = {
    imageSize: [s.imageSize, s.imageSize] as [number, number], batchSize: s.batchSize, labelMode: 'categorical' as const,
    shuffle: true, seed: s.seed, classNames,
  };
  if (s.validationSplit > 0) {
    const [train, validation] = await graft.data.imageDatasetFromFiles(entries, { ...common, validationSplit: s.validationSplit, subset: 'both' });
    return { train: train.cache(), validation: validation.cache(), classNames };
  }
  return { train: (await graft.data.imageDatasetFromFiles(entries, common)).cache(), validation: null, classNames };
}

/** The classifier of tools/demo (augmentation, base with training: false, pooling, dropout, softmax), compiled. */
export function buildModel(baseBytes: Uint8Array, s: TrainSettings, classes: number): { model: Model; baseName: string } {
  graft.setSeed(s.seed);
  const base = graft.applications.mobileNetV2({ weights: baseBytes, includeTop: false, inputShape: [s.imageSize, s.imageSize, 3] });
  const model = buildClassifier(base, s.imageSize, classes);
  model.compile({ optimizer: graft.optimizers.adam({ learningRate: s.learningRate }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return { model, baseName: base.name };
}

/** Keras: base.trainable = True; freeze base.layers[:-n]; recompile with the fine-tuning learning rate. */
export function prepareFineTuning(model: Model, baseName: string, s: TrainSettings): string[] {
  const base = model.getLayer(baseName) as graft.models.Functional;
  base.trainable = true;
  for (const l of base.layers.slice(0, -s.unfreeze)) l.trainable = false;
  (model.optimizer as { dispose?: () => void } | null)?.dispose?.();
  model.compile({ optimizer: graft.optimizers.adam({ learningRate: s.fineTuneLearningRate }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return base.layers.slice(-s.unfreeze).map((l) => l.name);
}

/** Sends Keras' progress line (`3/10 [=====>....] - ETA: 4s - loss: 1.2345 - accuracy: 0.5000`) after every batch. */
export class ProgressLine extends graft.callbacks.Callback {
  private bar: ProgressBar | null = null;
  private header = '';
  private seen = 0;

  constructor(private readonly send: (text: string) => void) {
    super();
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.header = `Epoch ${epoch + 1}/${this.params!.epochs}`;
    this.seen = 0;
    const stream = { isTTY: true, write: (s: string) => this.send(`${this.header}\n${s.replace(/^\r/, '').trimEnd()}`) };
    this.bar = new ProgressBar({ target: this.params!.steps, verbose: 1, stream, isTTY: true, intervalMs: 0 });
    this.send(`${this.header}\n`);
  }

  override async onBatchEnd(batch: number, logs: Logs): Promise<void> {
    this.seen = batch + 1;
    this.bar?.update(this.seen, logs, false);
  }

  override async onEpochEnd(_epoch: number, logs: Logs): Promise<void> {
    this.bar?.update(this.seen, logs, true);
    this.bar = null;
  }
}

/** Hooks the run reports through, besides the progress line. */
export interface PhaseHooks {
  progress: (text: string) => void;
  /** After the epoch's checkpoint is written. */
  epochEnd: (epoch: number, logs: Logs) => Promise<void>;
  log: (line: string) => void;
}

/**
 * Runs what is left of both phases from model.epochsDone: feature extraction to `featureEpochs`, then (unfreezing at
 * the boundary) fine-tuning to `featureEpochs + fineTuneEpochs`. Returns the model (the same one).
 */
export async function runPhases(model: Model, baseName: string, data: RunData, s: TrainSettings, hooks: PhaseHooks): Promise<Model> {
  const total = s.featureEpochs + s.fineTuneEpochs;
  const callbacks = () => [
    new ProgressLine(hooks.progress),
    graft.callbacks.modelCheckpoint({ filepath: CHECKPOINT_PATTERN }),
    { onEpochEnd: (epoch: number, logs: Logs) => hooks.epochEnd(epoch, logs) },
  ];
  const fitArgs = (epochs: number) => ({
    epochs, initialEpoch: model.epochsDone, verbose: 0 as const, callbacks: callbacks(), validationData: data.validation ?? undefined,
  });
  if (model.epochsDone < s.featureEpochs) {
    hooks.log(`Feature extraction: ${baseName} frozen, training the head (epochs ${model.epochsDone + 1} to ${s.featureEpochs}).`);
    data.train.epoch = model.epochsDone;
    await model.fit(data.train, fitArgs(s.featureEpochs));
  }
  if (model.stopTraining || model.epochsDone >= total) return model;
  if (model.epochsDone === s.featureEpochs) {
    const unfrozen = prepareFineTuning(model, baseName, s);
    hooks.log(`Fine-tuning: unfroze the last ${unfrozen.length} layers of ${baseName} (${unfrozen[0]} … ${unfrozen.at(-1)}), Adam ${s.fineTuneLearningRate}.`);
  }
  data.train.epoch = model.epochsDone;
  await model.fit(data.train, fitArgs(total));
  return model;
}
