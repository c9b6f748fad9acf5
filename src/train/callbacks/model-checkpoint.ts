// ModelCheckpoint (Keras 3): saves the model or its weights at epoch ends or every N batches (counted across
// epochs), to a path formatted from the epoch, batch and logs; optionally only when the monitored value improves.

import { formatFilepath } from '../format-filepath.js';
import { Callback, type Logs } from './callback.js';
import { improves, MissingKeyWarning, resolveMode, worst, type MonitorMode } from './monitor.js';

/** Options of modelCheckpoint(). */
export interface ModelCheckpointArgs {
  /** Path template: `{epoch:02d}` (1-based), `{batch}`, `{val_loss:.2f}` and any log key. */
  filepath: string;
  /** Default 'val_loss'. */
  monitor?: string;
  /** 1 prints a line per save. Default 0. */
  verbose?: 0 | 1;
  /** Save only when `monitor` improves (default false). */
  saveBestOnly?: boolean;
  /** Weights only (saveWeights) instead of the whole model (save). Default false. */
  saveWeightsOnly?: boolean;
  /** Default 'auto'. */
  mode?: MonitorMode;
  /** 'epoch' (default) or a number of batches, counted across epochs. */
  saveFreq?: 'epoch' | number;
  /** With saveBestOnly: the value to beat at first. */
  initialValueThreshold?: number;
}

export class ModelCheckpoint extends Callback {
  readonly filepath: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  readonly saveWeightsOnly: boolean;
  readonly saveFreq: 'epoch' | number;
  readonly mode: 'min' | 'max';
  /** The best monitored value so far. */
  best: number;
  /** Paths written, in order. */
  readonly saved: string[] = [];
  private readonly verbose: 0 | 1;
  private batchesSinceSave = 0;
  private epoch = 0;
  private readonly missing = new MissingKeyWarning('ModelCheckpoint');

  constructor(args: ModelCheckpointArgs) {
    super();
    this.filepath = args.filepath;
    this.monitor = args.monitor ?? 'val_loss';
    this.verbose = args.verbose ?? 0;
    this.saveBestOnly = args.saveBestOnly ?? false;
    this.saveWeightsOnly = args.saveWeightsOnly ?? false;
    this.saveFreq = args.saveFreq ?? 'epoch';
    if (this.saveFreq !== 'epoch' && !(Number.isInteger(this.saveFreq) && this.saveFreq > 0)) {
      throw new Error(`Graft ModelCheckpoint: saveFreq must be 'epoch' or a positive integer, got ${JSON.stringify(args.saveFreq)}`);
    }
    this.mode = resolveMode(args.mode ?? 'auto', this.monitor);
    this.best = args.initialValueThreshold ?? worst(this.mode);
  }

  override async onEpochBegin(epoch: number, _logs: Logs = {}): Promise<void> {
    this.epoch = epoch;
  }

  override async onBatchEnd(batch: number, logs: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') return;
    if (++this.batchesSinceSave >= this.saveFreq) {
      this.batchesSinceSave = 0;
      await this.save(this.epoch, batch, logs);
    }
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') await this.save(epoch, null, logs);
  }

  /** The path for this save: Keras passes epoch + 1 and, for batch saves, batch + 1. */
  pathFor(epoch: number, batch: number | null, logs: Logs): string {
    const values: Record<string, number> = { ...logs, epoch: epoch + 1 };
    if (batch !== null && !('batch' in logs)) values.batch = batch + 1;
    return formatFilepath(this.filepath, values);
  }

  private async save(epoch: number, batch: number | null, logs: Logs): Promise<void> {
    const path = this.pathFor(epoch, batch, logs);
    if (this.saveBestOnly) {
      const current = logs[this.monitor];
      if (current === undefined) {
        this.missing.warn(this.monitor, logs, 'can save the best model only when it is available; skipping, as');
        return;
      }
      if (!improves(this.mode, current, this.best)) {
        if (this.verbose) console.log(`\nEpoch ${epoch + 1}: ${this.monitor} did not improve from ${this.best.toFixed(5)}`);
        return;
      }
      if (this.verbose) console.log(`\nEpoch ${epoch + 1}: ${this.monitor} improved from ${this.best.toFixed(5)} to ${current.toFixed(5)}, saving model to ${path}`);
      this.best = current;
    } else if (this.verbose) {
      console.log(`\nEpoch ${epoch + 1}: saving model to ${path}`);
    }
    const model = this.trainedModel;
    if (this.saveWeightsOnly) await model.saveWeights(path);
    else await model.save(path);
    this.saved.push(path);
  }
}
