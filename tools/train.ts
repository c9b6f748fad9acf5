// `graft train` and `npm run demo`: the transfer-learning workflow (tools/demo/workflow.ts) behind command-line flags.
// The demo is `graft train` with its defaults; `--full` switches to the Keras tutorial's sizes.

import type { Command } from 'commander';
import { DEMO_DEFAULTS, FULL_OVERRIDES, checkSettings, type TransferSettings } from './demo/options.js';
import { latestRunDir } from './demo/run-dir.js';

/** The flags as commander hands them over (strings until parsed here). */
export interface TrainFlags {
  data?: string;
  weights?: string;
  mobilenet?: string;
  imageSize?: string;
  batchSize?: string;
  epochs?: string;
  fineTuneEpochs?: string;
  unfreeze?: string;
  lr?: string;
  fineTuneLr?: string;
  steps?: string;
  valFraction?: string;
  validateAll?: boolean;
  out?: string;
  seed?: string;
  full?: boolean;
  resume?: string | boolean;
  backupSteps?: string;
  verbose?: string;
}

/** Adds the workflow's flags to a command; defaults are the demo's. */
export function addTrainOptions(cmd: Command): Command {
  const d = DEMO_DEFAULTS;
  return cmd
    .option('--data <dir>', 'folder with train/<class>/ and test/<class>/ images', d.dataDir)
    .option('--weights <file>', 'EfficientNet-B0 ONNX file; when absent the pretrained MobileNetV2 is the base', d.efficientNetWeights)
    .option('--mobilenet <file>', 'the pretrained MobileNetV2 ONNX file', d.mobileNetWeights)
    .option('--image-size <n>', `images are resized to n x n pixels (default ${d.imageSize}; --full: 224)`)
    .option('--batch-size <n>', `images per batch (default ${d.batchSize}; --full: ${FULL_OVERRIDES.batchSize})`)
    .option('--epochs <n>', 'epochs of feature extraction (frozen base)', String(d.initialEpochs))
    .option('--fine-tune-epochs <n>', 'epochs of fine-tuning after them', String(d.fineTuneEpochs))
    .option('--unfreeze <n>', 'layers of the base unfrozen for fine-tuning (its last n)', String(d.unfreeze))
    .option('--lr <x>', `Adam learning rate for feature extraction (default ${d.learningRate}; --full: ${FULL_OVERRIDES.learningRate})`)
    .option('--fine-tune-lr <x>', 'Adam learning rate for fine-tuning', String(d.fineTuneLearningRate))
    .option('--steps <n|all>', `training batches per epoch (default ${d.stepsPerEpoch}; --full: all)`)
    .option('--val-fraction <x>', 'fraction of the test set validated at each epoch end', String(d.validationFraction))
    .option('--validate-all', 'validate during feature extraction too (default: only while fine-tuning; --full: both)')
    .option('--out <dir>', 'where runs/<timestamp>/ folders are created', d.outDir)
    .option('--seed <n>', 'seed of shuffling, initial weights and augmentation', String(d.seed))
    .option('--full', "the Keras tutorial's sizes: 224x224, every image every epoch (slow on a software GPU)")
    .option('--resume [runDir]', "continue a run from its backup or last complete checkpoint, whichever is further (default: the newest run in --out)")
    .option('--backup-steps <n>', "back the run up (its backup/ folder) every n batches instead of every epoch, so that a kill loses at most n batches")
    .option('--verbose <0|1|2>', 'progress: 1 Keras progress bars, 2 one line per epoch, 0 none', '1');
}

function int(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\s*-?\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new Error(`--${flag} must be an integer, got '${v}'`);
  return n;
}

function num(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${flag} must be a number, got '${v}'`);
  return n;
}

/** The settings the flags ask for (demo defaults, --full overrides, then explicit flags); throws naming a bad flag. */
export function settingsFromFlags(f: TrainFlags): TransferSettings {
  const base: TransferSettings = { ...DEMO_DEFAULTS, ...(f.full ? FULL_OVERRIDES : {}) };
  const steps = f.steps === undefined ? base.stepsPerEpoch : f.steps === 'all' ? null : int('steps', f.steps, 0);
  const s: TransferSettings = {
    dataDir: f.data ?? base.dataDir,
    efficientNetWeights: f.weights ?? base.efficientNetWeights,
    mobileNetWeights: f.mobilenet ?? base.mobileNetWeights,
    imageSize: int('image-size', f.imageSize, base.imageSize),
    batchSize: int('batch-size', f.batchSize, base.batchSize),
    initialEpochs: int('epochs', f.epochs, base.initialEpochs),
    fineTuneEpochs: int('fine-tune-epochs', f.fineTuneEpochs, base.fineTuneEpochs),
    unfreeze: int('unfreeze', f.unfreeze, base.unfreeze),
    learningRate: num('lr', f.lr, base.learningRate),
    fineTuneLearningRate: num('fine-tune-lr', f.fineTuneLr, base.fineTuneLearningRate),
    stepsPerEpoch: steps,
    validationFraction: num('val-fraction', f.valFraction, base.validationFraction),
    validateFeatureExtraction: f.validateAll ?? base.validateFeatureExtraction,
    outDir: f.out ?? base.outDir,
    seed: int('seed', f.seed, base.seed),
    backupSteps: f.backupSteps === undefined ? null : int('backup-steps', f.backupSteps, 0),
  };
  try {
    checkSettings(s);
  } catch (e) {
    // NOTE: the settings' names differ from the flags'; name the flag the user typed.
    const flagOf: Record<string, string> = {
      imageSize: '--image-size', batchSize: '--batch-size', initialEpochs: '--epochs', fineTuneEpochs: '--fine-tune-epochs',
      unfreeze: '--unfreeze', stepsPerEpoch: '--steps', learningRate: '--lr', fineTuneLearningRate: '--fine-tune-lr',
      validationFraction: '--val-fraction', backupSteps: '--backup-steps',
    };
    const msg = (e as Error).message;
    const key = msg.split(' ')[0]!;
    throw new Error(flagOf[key] ? msg.replace(key, flagOf[key]) : msg);
  }
  return s;
}

/** Runs the workflow for parsed flags; `command` is how the user invoked it (for the resume hint). */
export async function trainCommand(f: TrainFlags, command: string): Promise<number> {
  const verbose = int('verbose', f.verbose, 1);
  if (verbose !== 0 && verbose !== 1 && verbose !== 2) throw new Error(`--verbose must be 0, 1 or 2, got '${f.verbose}'`);
  const settings = settingsFromFlags(f);
  const resumeDir = f.resume === undefined || f.resume === false ? undefined : f.resume === true ? latestRunDir(settings.outDir) : f.resume;
  // NOTE: loaded here, so that `graft --help` and flag errors do not load the engine.
  const { init } = await import('../src/tensor/engine.js');
  const { runTransfer } = await import('./demo/workflow.js');
  await init();
  const result = await runTransfer(settings, {
    resumeDir, verbose, resumeHint: (dir) => `${command} --resume ${dir}`,
  });
  console.log(`accuracy: ${result.test.accuracy!.toFixed(4)}`);
  return 0;
}
