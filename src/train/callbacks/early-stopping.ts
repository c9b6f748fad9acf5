// EarlyStopping (Keras 3): stops fit when the monitored value has not improved for `patience` epochs, optionally
// restoring the best epoch's weights (kept as GPU copies, no readback).

import { keep } from '../../tensor/engine.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Callback, type Logs } from './callback.js';
import { improves, MissingKeyWarning, resolveMode, worst, type MonitorMode } from './monitor.js';

/** Options of earlyStopping(). */
export interface EarlyStoppingArgs {
  /** Default 'val_loss'. */
  monitor?: string;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  verbose?: 0 | 1;
  /** Default 'auto'. */
  mode?: MonitorMode;
  /** Stop unless the value beats this (default none). */
  baseline?: number;
  /** Restore the best epoch's weights when stopping (default false). */
  restoreBestWeights?: boolean;
  /** Epochs to wait before monitoring starts (default 0). */
  startFromEpoch?: number;
}

export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  /** The epoch (0-based) at which training stopped, or 0. */
  stoppedEpoch = 0;
  /** The epoch (0-based) with the best value. */
  bestEpoch = 0;
  best = Infinity;
  private wait = 0;
  private bestWeights: Tensor[] | null = null;
  private readonly missing = new MissingKeyWarning('EarlyStopping');

  constructor(private readonly args: EarlyStoppingArgs = {}) {
    super();
    this.monitor = args.monitor ?? 'val_loss';
    this.mode = resolveMode(args.mode ?? 'auto', this.monitor);
  }

  override async onTrainBegin(_logs: Logs = {}): Promise<void> {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = worst(this.mode);
    this.bestEpoch = 0;
    this.dropBest();
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const current = logs[this.monitor];
    if (current === undefined) {
      this.missing.warn(this.monitor, logs, 'early stopping is');
      return;
    }
    if (epoch < (this.args.startFromEpoch ?? 0)) return;
    const restore = this.args.restoreBestWeights ?? false;
    if (restore && !this.bestWeights) this.snapshot();
    this.wait++;
    if (improves(this.mode, current, this.best, this.args.minDelta ?? 0)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (restore) this.snapshot();
      const baseline = this.args.baseline;
      if (baseline === undefined || improves(this.mode, current, baseline, this.args.minDelta ?? 0)) this.wait = 0;
      return;
    }
    if (this.wait >= (this.args.patience ?? 0) && epoch > 0) {
      this.stoppedEpoch = epoch;
      this.trainedModel.stopTraining = true;
      if (restore && this.bestWeights) {
        if (this.args.verbose) console.log(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
        this.trainedModel.weights.forEach((w, i) => w.assign(this.bestWeights![i]!));
      }
    }
  }

  override async onTrainEnd(_logs: Logs = {}): Promise<void> {
    if (this.stoppedEpoch > 0 && this.args.verbose) console.log(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
    this.dropBest();
  }

  private snapshot(): void {
    this.dropBest();
    this.bestWeights = this.trainedModel.weights.map((w) => keep(w.value.detach()));
  }

  private dropBest(): void {
    for (const t of this.bestWeights ?? []) t.dispose();
    this.bestWeights = null;
  }
}
