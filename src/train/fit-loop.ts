// The epoch loop behind TrainingModel.fit (Keras semantics: epochs run from initialEpoch to epochs - 1; callbacks get
// 0-based epoch and batch indices; batch logs are running means over the epoch; validation runs at epoch end).

import type { Tensor } from '../tensor/tensor.js';
import type { TrainingModel } from './training-model.js';
import { Accumulator, testStep, trainStep, type CompiledState } from './step.js';
import { Callback, CallbackList, History, type CallbackHooks, type Logs } from './callbacks/callback.js';
import { ProgbarLogger } from './callbacks/progbar-logger.js';
import { getRngState, setRngState } from '../nn/random.js';
import { isResumeSource, type FitPosition, type FitProgress } from './callbacks/fit-position.js';
import { DatasetSource, TensorSource, isDataset, type BatchSource, type Dataset } from './data-adapter.js';
import { DeviceRecovery, type DeviceRecoveryOptions } from './device-recovery.js';

/** Options of fit(). */
export interface FitArgs {
  /** Index of the last epoch: training runs epochs initialEpoch .. epochs - 1 (default 1). */
  epochs?: number;
  /** Epochs already done, e.g. when resuming from a checkpoint (default 0). */
  initialEpoch?: number;
  /** Examples per batch for tensor inputs (default 32). */
  batchSize?: number;
  /** Batches per epoch (default: all of x, or one pass of the dataset). */
  stepsPerEpoch?: number;
  /** Evaluated at the end of every epoch; its logs are prefixed `val_`. */
  validationData?: [Tensor, Tensor] | Dataset;
  /** Batches of validationData per evaluation (default: all). */
  validationSteps?: number;
  /** Shuffle tensor inputs before each epoch, from the seeded stream (default true). */
  shuffle?: boolean;
  callbacks?: (Callback | CallbackHooks)[];
  /** 0 silent, 1 progress bar, 2 one line per epoch (default 1). */
  verbose?: 0 | 1 | 2;
  /**
   * When the GPU device is lost, get a new one, restore the last backup (the BackupAndRestore callback's, else an
   * in-memory host copy) and continue (default false). Needs a Dataset: tensor x/y die with the device.
   * Porting note: Keras has no such option; a WebGPU device can be reclaimed by the browser or a driver reset.
   */
  recoverDeviceLoss?: boolean | DeviceRecoveryOptions;
}

/** Options of evaluate(). */
export interface EvaluateArgs {
  /** Default 32. */
  batchSize?: number;
  /** Batches to evaluate (default: all). */
  steps?: number;
}

/** The batch source for (x, y) tensors or a dataset. */
export function sourceOf(what: string, x: Tensor | Dataset, y: Tensor | undefined, batchSize: number, shuffle: boolean, steps?: number): BatchSource {
  if (isDataset(x)) {
    if (y) throw new Error(`Graft ${what}: pass either a dataset or (x, y) tensors, not both`);
    return new DatasetSource(x, steps);
  }
  if (!y) throw new Error(`Graft ${what}: y is missing (pass (x, y) tensors or a dataset of {x, y})`);
  return new TensorSource(x, y, batchSize, shuffle);
}

/** Runs the loss and metrics over a source in inference mode; one readback at the end. */
export async function runEvaluation(model: TrainingModel, c: Pick<CompiledState, 'loss' | 'metrics'>, source: BatchSource, steps: number | undefined, prefix = ''): Promise<Logs> {
  const acc = new Accumulator(['loss', ...c.metrics.map((m) => m.name)]);
  try {
    for await (const b of source.epoch(steps)) {
      try {
        testStep(model, c, b.x, b.y, acc);
      } finally {
        b.x.dispose();
        b.y.dispose();
      }
    }
    return await acc.read(prefix);
  } finally {
    acc.dispose();
  }
}

/** Tracks fit's position for callbacks that back training up. */
class ProgressTracker implements FitProgress {
  epoch = 0;
  step = 0;
  epochRngState = 0;
  epochDataOrder: number | null = null;
  acc: Accumulator | null = null;

  constructor(private readonly source: BatchSource) {}

  startEpoch(epoch: number, acc: Accumulator): void {
    this.epoch = epoch;
    this.acc = acc;
    this.step = 0;
    this.epochRngState = getRngState();
    this.epochDataOrder = this.source.dataOrder;
  }

  async position(epochDone: boolean): Promise<FitPosition> {
    // NOTE: at an epoch end the next epoch starts from the stream and the dataset counter as they are now.
    if (epochDone) return { epoch: this.epoch + 1, step: 0, epochRngState: getRngState(), dataOrder: this.source.dataOrder, rngState: getRngState() };
    const rngState = getRngState();
    const epochLogs = await this.acc!.snapshot();
    return { epoch: this.epoch, step: this.step, epochRngState: this.epochRngState, dataOrder: this.epochDataOrder, rngState, epochLogs };
  }
}

/** Makes a DeviceRecovery when fit asked for one; tensor data cannot follow a new device, so it needs datasets. */
function recoveryFor(model: TrainingModel, args: FitArgs, source: BatchSource, items: (Callback | CallbackHooks)[], steps: number | null, verbose: number): DeviceRecovery | null {
  const opt = args.recoverDeviceLoss;
  if (!opt) return null;
  const val = args.validationData;
  if (source instanceof TensorSource || (val && !isDataset(val))) {
    throw new Error('Graft fit: recoverDeviceLoss needs a Dataset for x (and validationData): tensors passed to fit live on the GPU device and are lost with it');
  }
  const r = new DeviceRecovery(model, items.filter((c): c is Callback => c instanceof Callback), opt === true ? {} : opt, steps, verbose);
  if (r.ownsBackup) items.unshift(r.backup);
  return r;
}

export async function runFit(model: TrainingModel, c: CompiledState, source: BatchSource, args: FitArgs): Promise<History> {
  const epochs = args.epochs ?? 1;
  const verbose = args.verbose ?? 1;
  const steps = args.stepsPerEpoch ?? source.steps;
  const history = new History();
  const items: (Callback | CallbackHooks)[] = [...(args.callbacks ?? []), history];
  const recovery = recoveryFor(model, args, source, items, steps, verbose);
  if (verbose > 0) items.unshift(new ProgbarLogger());
  const progress = new ProgressTracker(source);
  const params = { epochs, initialEpoch: args.initialEpoch ?? 0, steps, verbose, progress };
  const list = new CallbackList(items, model, params);
  const val = args.validationData;
  const valSource = val ? (isDataset(val) ? new DatasetSource(val, undefined) : new TensorSource(val[0], val[1], args.batchSize ?? 32, false)) : null;
  model.stopTraining = false;
  model.history = history;
  await list.trainBegin({});
  // NOTE: a callback that restored a backup (BackupAndRestore) decides where training continues, as in Keras.
  let resume: FitPosition | null = null;
  for (const cb of list.callbacks) resume = (isResumeSource(cb) ? cb.takeResumePosition() : null) ?? resume;
  const initialEpoch = resume ? resume.epoch : params.initialEpoch;
  params.initialEpoch = initialEpoch;
  await recovery?.start({ epoch: initialEpoch, step: 0, epochRngState: getRngState(), dataOrder: source.dataOrder, rngState: getRngState() });
  let epochLogs: Logs = {};

  /** One epoch: its batches (skipping those a resumed backup had trained), validation, and the epoch-end hooks. */
  const runEpoch = async (epoch: number): Promise<void> => {
    await list.epochBegin(epoch, {});
    let skip = 0;
    if (resume && epoch === resume.epoch) {
      if (resume.dataOrder !== null) source.dataOrder = resume.dataOrder;
      if (resume.step > 0) setRngState(resume.epochRngState);
      skip = resume.step;
    }
    const acc = new Accumulator(['loss', ...c.metrics.map((m) => m.name)]);
    progress.startEpoch(epoch, acc);
    let step = 0;
    try {
      if (skip > 0 && resume!.epochLogs) {
        acc.restore(resume!.epochLogs);
        epochLogs = await acc.read();
      }
      for await (const b of source.epoch(args.stepsPerEpoch)) {
        if (step < skip) {
          // NOTE: batches the backup had consumed are drawn (so the order continues) and dropped.
          b.x.dispose();
          b.y.dispose();
          progress.step = ++step;
          if (step === skip) setRngState(resume!.rngState);
          continue;
        }
        await list.batchBegin(step, {});
        try {
          trainStep(model, c, b.x, b.y, acc);
        } finally {
          b.x.dispose();
          b.y.dispose();
        }
        progress.step = step + 1;
        const logs = await acc.read();
        epochLogs = logs;
        recovery?.batchDone();
        await list.batchEnd(step, logs);
        step++;
        if (model.stopTraining) break;
      }
    } finally {
      acc.dispose();
    }
    if (source.exhausted) {
      console.warn(`Graft fit: the dataset ran out of data after ${step} of ${args.stepsPerEpoch} steps in epoch ${epoch + 1}; stopping (make it yield stepsPerEpoch * epochs batches)`);
      model.stopTraining = true;
    }
    if (valSource) {
      await list.testBegin({});
      const v = await runEvaluation(model, c, valSource, args.validationSteps, 'val_');
      await list.testEnd(v);
      epochLogs = { ...epochLogs, ...v };
    }
    model.epochsDone = epoch + 1;
    await list.epochEnd(epoch, epochLogs);
  };

  let epoch = initialEpoch;
  while (epoch < epochs && !model.stopTraining) {
    try {
      await runEpoch(epoch);
      epoch++;
    } catch (e) {
      if (!recovery?.isDeviceLoss(e)) throw e;
      // NOTE: the loss surfaces at a step boundary (a submit or readback fails); training continues from the backup.
      resume = await recovery.recover(e);
      epoch = resume.epoch;
    }
  }
  await list.trainEnd(epochLogs);
  return history;
}
