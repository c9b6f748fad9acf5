// The Keras transfer-learning tutorial as one resumable run: feature extraction on a frozen pretrained base,
// then fine-tuning of its last layers, checkpoints every epoch, TensorBoard logs, a final test evaluation, and
// `runs/<timestamp>/` holding everything. A resumed run continues from its last complete checkpoint.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { imageDatasetFromDirectory, type Dataset, type ImageBatch } from '../../src/data/index.js';
import { setSeed } from '../../src/nn/random.js';
import type { Functional } from '../../src/nn/functional.js';
import { adam } from '../../src/train/optimizers/index.js';
import { loadModel } from '../../src/train/model.js';
import { callbacks as cb, type CallbackHooks, type Logs } from '../../src/train/index.js';
import type { Model } from '../../src/train/model.js';
import { plotHistorySvg } from './plot.js';
import { buildBase, chooseBase } from './base.js';
import { buildClassifier } from './classifier.js';
import { saveClassifier, writeClassesFile } from './class-names.js';
import { checkSettings, type TransferSettings } from './options.js';
import { EpochEndGuard } from './interrupt.js';
import { installMidWriteHook, signalHook } from './signal-hook.js';
import { trimTensorBoardLogs } from './trim-logs.js';
import { resumePoint } from './resume-point.js';
import {
  createRunDir, latestCheckpoint, readHistory, readRunInfo, removeTempFiles, runPaths, writeJson, type RunHistory, type RunInfo,
} from './run-dir.js';

/** How runTransfer behaves around the settings. */
export interface RunOptions {
  /** Continue this run folder from its last complete checkpoint (its run.json fixes the settings). */
  resumeDir?: string;
  /** Where messages go (default console.log). */
  log?: (line: string) => void;
  /** fit's verbosity: 1 Keras progress bars (default), 2 one line per epoch, 0 none. */
  verbose?: 0 | 1 | 2;
  /** On Ctrl-C, finish an epoch end that has begun, name the last complete checkpoint and exit 130 (default true). */
  handleSigint?: boolean;
  /** The command line that resumes a run folder, printed on Ctrl-C. */
  resumeHint?: (runDir: string) => string;
}

/** What a finished run returns. */
export interface RunResult {
  runDir: string;
  history: RunHistory;
  /** Loss and accuracy on the whole test set. */
  test: Logs;
  /** Wall-clock seconds of this invocation. */
  seconds: number;
}

interface Data {
  train: Dataset<ImageBatch>;
  validation: Dataset<ImageBatch>;
  test: Dataset<ImageBatch>;
  classNames: string[];
}

async function loadData(s: TransferSettings, log: (l: string) => void): Promise<Data> {
  const trainDir = join(s.dataDir, 'train');
  const testDir = join(s.dataDir, 'test');
  for (const d of [trainDir, testDir]) {
    if (!existsSync(d)) throw new Error(`data folder ${d} not found (expected ${s.dataDir}/train/<class>/*.jpg and ${s.dataDir}/test/<class>/*.jpg)`);
  }
  const common = { imageSize: [s.imageSize, s.imageSize] as const, batchSize: s.batchSize, labelMode: 'categorical' as const, verbose: false };
  const train = await imageDatasetFromDirectory(trainDir, { ...common, shuffle: true, seed: s.seed });
  const test = await imageDatasetFromDirectory(testDir, { ...common, shuffle: false, classNames: train.classNames });
  const testFiles = test.filePaths.length;
  let validation = test;
  if (s.validationFraction < 1) {
    // NOTE: the seeded split takes a class-balanced-in-expectation 25%, not the last folders of the sorted list.
    [, validation] = await imageDatasetFromDirectory(testDir, {
      ...common, classNames: train.classNames, shuffle: true, seed: s.seed, validationSplit: s.validationFraction, subset: 'both',
    });
  }
  log(`Found ${train.filePaths.length} training and ${testFiles} test images in ${train.classNames.length} classes (${s.dataDir}); validating on ${validation.filePaths.length} test images.`);
  return { train: train.cache(), validation: validation.cache(), test: test.cache(), classNames: train.classNames };
}

/** Appends each epoch's logs and time to history.json (written before the checkpoint, so it never lags it). */
function historyRecorder(h: RunHistory, path: string): CallbackHooks {
  let t0 = 0;
  return {
    onEpochBegin: () => void (t0 = performance.now()),
    onEpochEnd: async (epoch: number, logs: Logs) => {
      const n = h.epoch.length;
      for (const k of Object.keys(logs)) h.history[k] ??= new Array<number>(n).fill(NaN);
      for (const [k, v] of Object.entries(h.history)) v.push(logs[k] ?? NaN);
      h.epoch.push(epoch);
      h.seconds.push((performance.now() - t0) / 1000);
      await writeJson(path, h);
    },
  };
}

function epochSummary(h: RunHistory, total: number, log: (l: string) => void): CallbackHooks {
  return {
    onEpochEnd: (epoch: number, logs: Logs) => {
      const phase = epoch < h.fineTuneAt ? 'feature extraction' : 'fine-tuning';
      const vals = Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
      log(`epoch ${epoch + 1}/${total} (${phase}): ${h.seconds.at(-1)!.toFixed(1)} s, ${vals}`);
    },
  };
}

function describe(s: TransferSettings, info: RunInfo, data: Data): string {
  const n = data.train.filePaths.length;
  const perEpoch = s.stepsPerEpoch === null ? `every image (${data.train.length} steps)` : `${s.stepsPerEpoch} steps (${Math.min(n, s.stepsPerEpoch * s.batchSize)} of ${n} images)`;
  return [
    `Settings: ${s.imageSize}x${s.imageSize} px, batch ${s.batchSize}, ${perEpoch} per epoch,`,
    `${s.initialEpochs} epochs of feature extraction (Adam ${s.learningRate}) + ${s.fineTuneEpochs} of fine-tuning the last ${s.unfreeze} layers of ${info.baseName} (Adam ${s.fineTuneLearningRate}),`,
    `validation on ${data.validation.filePaths.length} test images ${s.validateFeatureExtraction ? 'every epoch' : 'while fine-tuning'}, seed ${s.seed}.`,
  ].join('\n  ');
}

/** Unfreezes the last `n` layers of the base (Keras: base.trainable = True; then freeze layers[:-n]) and recompiles. */
function prepareFineTuning(model: Model, info: RunInfo, s: TransferSettings, log: (l: string) => void): void {
  const base = model.getLayer(info.baseName) as Functional;
  base.trainable = true;
  for (const l of base.layers.slice(0, -s.unfreeze)) l.trainable = false;
  (model.optimizer as { dispose?: () => void } | null)?.dispose?.();
  model.compile({ optimizer: adam({ learningRate: s.fineTuneLearningRate }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const trainable = model.trainableWeights.reduce((k, w) => k + w.value.size, 0);
  log(`Fine-tuning: unfroze ${base.layers.slice(-s.unfreeze).map((l) => l.name).join(', ')}; ${trainable.toLocaleString('en-US')} trainable parameters.`);
}

/**
 * Runs (or resumes) the transfer-learning workflow and writes `runs/<timestamp>/`: checkpoints/epoch-NN.safetensors,
 * logs/ (TensorBoard), history.json, history.svg, model.safetensors (with the class names) and classes.json.
 */
export async function runTransfer(settings: TransferSettings, options: RunOptions = {}): Promise<RunResult> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const log = options.log ?? ((l: string) => console.log(l));
  installMidWriteHook();
  const done = (n: number) => `${n} epoch${n === 1 ? '' : 's'} done`;
  let info: RunInfo;
  if (options.resumeDir) {
    info = readRunInfo(options.resumeDir);
    log(`Resuming with the settings of ${runPaths(options.resumeDir).info} (other flags are ignored).`);
  } else {
    checkSettings(settings);
    const base = await chooseBase(settings.efficientNetWeights, settings.mobileNetWeights);
    info = { settings, base, baseName: '', classNames: [], startedAt: new Date().toISOString() };
  }
  const s = info.settings;
  const total = s.initialEpochs + s.fineTuneEpochs;
  log(`Base: ${info.base.kind === 'efficientnet-b0' ? 'EfficientNet-B0' : 'MobileNetV2'} from ${info.base.weights === 'imagenet' ? "Keras' ImageNet weights" : info.base.weights} (${info.base.reason}).`);
  const data = await loadData(s, log);
  // NOTE: created only once the data is found, so that a mistyped --data leaves no empty run folder.
  const runDir = options.resumeDir ?? createRunDir(s.outDir);
  const paths = runPaths(runDir);

  if (options.resumeDir) {
    const n = removeTempFiles(runDir);
    if (n > 0) log(`Removed ${n} partial file${n === 1 ? '' : 's'} left by the interrupted run.`);
  }
  const point = options.resumeDir ? await resumePoint(runDir, log) : null;
  const ckpt = point?.checkpoint ?? null;
  let model: Model;
  if (ckpt) {
    model = await loadModel(ckpt.path);
    if (!point?.backup) log(`Resuming ${runDir} from ${ckpt.path}: ${done(model.epochsDone)}, continuing with epoch ${model.epochsDone + 1}/${total} (${model.epochsDone < s.initialEpochs ? 'feature extraction' : 'fine-tuning'}).`);
  } else {
    setSeed(s.seed);
    const base = await buildBase(info.base, s.imageSize);
    model = buildClassifier(base, s.imageSize, data.classNames.length);
    model.compile({ optimizer: adam({ learningRate: s.learningRate }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    info = { ...info, baseName: base.name, classNames: data.classNames };
    await writeJson(paths.info, info);
    await writeClassesFile(runDir, data.classNames);
    await writeClassesFile(paths.checkpoints, data.classNames);
    if (options.resumeDir && !point?.backup) log(`Resuming ${runDir}: no complete checkpoint yet, starting from epoch 1.`);
  }
  const epochsDone = point?.epochsDone ?? 0;
  if (point?.backup) {
    // NOTE: fit restores the backup into the model as compiled below: a fine-tuning backup gets the fine-tuning setup,
    // since the checkpoint it follows is the last feature-extraction one or a fine-tuning one.
    const p = point.backup.position;
    const fineTuning = p.epoch > s.initialEpochs || (p.epoch === s.initialEpochs && p.step > 0);
    log(`Resuming ${runDir} from the backup ${point.backup.path}: ${done(p.epoch)} and ${p.step} batch${p.step === 1 ? '' : 'es'} of epoch ${p.epoch + 1}/${total} (${fineTuning ? 'fine-tuning' : 'feature extraction'}).`);
  }
  log(describe(s, info, data));
  log(`Writing to ${runDir}`);

  const history = readHistory(runDir, epochsDone, s.initialEpochs);
  // NOTE: the epochs after the resume point are redone; their records from the interrupted run must not stay twice.
  await trimTensorBoardLogs(paths.logs, epochsDone);
  const guard = new EpochEndGuard({
    log,
    exit: (forced) => {
      const last = latestCheckpoint(runDir);
      if (forced) {
        const written = last !== null && last.epoch > forced.epoch;
        log(`\nInterrupted again: exiting before the end of epoch ${forced.epoch + 1} was finished (${written ? 'its checkpoint was written' : `its checkpoint was not written; a resume redoes epoch ${forced.epoch + 1} and drops its partial logs`}).`);
      }
      log(`\nInterrupted. ${last ? `The last complete checkpoint is ${last.path} (epoch ${last.epoch}).` : 'No epoch was completed yet.'}`);
      log(`Continue with: ${options.resumeHint ? options.resumeHint(runDir) : `--resume ${runDir}`}`);
      process.exit(130);
    },
  });
  const onSigint = () => guard.interrupt();
  if (options.handleSigint ?? true) process.on('SIGINT', onSigint);
  try {
    // NOTE: logs before the checkpoint: a checkpoint on disk then never claims an epoch that the logs lack.
    const callbacks = () => [
      guard.begin,
      signalHook('epoch-end-begin'),
      historyRecorder(history, paths.history),
      epochSummary(history, total, log),
      cb.tensorBoard({ logDir: paths.logs }),
      signalHook('before-checkpoint'),
      cb.modelCheckpoint({ filepath: paths.checkpointPattern }),
      signalHook('after-checkpoint'),
      // NOTE: last, so that an epoch-end backup never claims an epoch that the logs and checkpoints lack.
      cb.backupAndRestore({ backupDir: paths.backup, saveFreq: s.backupSteps ?? 'epoch' }),
      signalHook('after-batch'),
      guard.end,
      signalHook('after-epoch-end'),
    ].filter((c) => c !== null);
    const verbose = options.verbose ?? 1;
    const steps = s.stepsPerEpoch ?? undefined;
    if (epochsDone < s.initialEpochs) {
      log(`Feature extraction: ${info.baseName} frozen, training the head (${model.trainableWeights.reduce((k, w) => k + w.value.size, 0).toLocaleString('en-US')} parameters).`);
      data.train.epoch = model.epochsDone;
      await model.fit(data.train, {
        epochs: s.initialEpochs, initialEpoch: model.epochsDone, stepsPerEpoch: steps, verbose, callbacks: callbacks(),
        validationData: s.validateFeatureExtraction ? data.validation : undefined,
      });
    }
    if (s.fineTuneEpochs > 0 && model.epochsDone < total) {
      if (model.epochsDone === s.initialEpochs) {
        // NOTE: as in the tutorial, fine-tuning starts from the saved feature-extraction model (unless just resumed from it).
        if (ckpt?.epoch !== s.initialEpochs) {
          const last = latestCheckpoint(runDir)!;
          model.dispose();
          model = await loadModel(last.path);
          log(`Loaded ${last.path} (${done(model.epochsDone)}).`);
        }
        prepareFineTuning(model, info, s, log);
      }
      data.train.epoch = model.epochsDone;
      await model.fit(data.train, {
        epochs: total, initialEpoch: model.epochsDone, stepsPerEpoch: steps, verbose, callbacks: callbacks(), validationData: data.validation,
      });
    }
    log(`Evaluating on all ${data.test.filePaths.length} test images...`);
    const test = await model.evaluate(data.test);
    history.test = test;
    log(`test loss: ${test.loss!.toFixed(4)} - accuracy: ${test.accuracy!.toFixed(4)}`);
    await saveClassifier(model, paths.model, data.classNames);
    await writeJson(paths.history, history);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(paths.plot, plotHistorySvg(history, { fineTuneAt: s.fineTuneEpochs > 0 ? s.initialEpochs : undefined, title: `${info.baseName} on ${s.dataDir}` }));
    const seconds = (performance.now() - start) / 1000;
    log(`Saved ${paths.model}, ${paths.history}, ${paths.plot}, TensorBoard logs in ${paths.logs}.`);
    const cpu = process.cpuUsage(cpuStart);
    // NOTE: on a software GPU other processes slow the run; CPU seconds and the load average say by how much.
    log(`Total time: ${(seconds / 60).toFixed(1)} min (${seconds.toFixed(0)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(0)} s CPU on ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}).`);
    model.dispose();
    return { runDir, history, test, seconds };
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
