// ReduceLROnPlateau (Keras 3): multiplies the learning rate by `factor` after `patience` epochs without improvement.

import { Callback, type Logs } from './callback.js';
import { MissingKeyWarning, resolveMode, worst, type MonitorMode } from './monitor.js';

/** Options of reduceLROnPlateau(). */
export interface ReduceLROnPlateauArgs {
  /** Default 'val_loss'. */
  monitor?: string;
  /** New rate = rate * factor (default 0.1, must be < 1). */
  factor?: number;
  /** Default 10. */
  patience?: number;
  verbose?: 0 | 1;
  mode?: MonitorMode;
  /** Default 1e-4. */
  minDelta?: number;
  /** Epochs to wait after a reduction (default 0). */
  cooldown?: number;
  /** Default 0. */
  minLr?: number;
}

export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  private best: number;
  private wait = 0;
  private cooldownCounter = 0;
  private readonly missing = new MissingKeyWarning('ReduceLROnPlateau');

  constructor(private readonly args: ReduceLROnPlateauArgs = {}) {
    super();
    if ((args.factor ?? 0.1) >= 1) throw new Error(`Graft ReduceLROnPlateau: factor must be < 1, got ${args.factor}`);
    this.monitor = args.monitor ?? 'val_loss';
    this.mode = resolveMode(args.mode ?? 'auto', this.monitor);
    this.best = worst(this.mode);
  }

  override async onTrainBegin(_logs: Logs = {}): Promise<void> {
    this.best = worst(this.mode);
    this.wait = 0;
    this.cooldownCounter = 0;
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const opt = this.trainedModel.optimizer;
    if (!opt) return;
    if (typeof opt.learningRate !== 'number') {
      throw new Error('Graft ReduceLROnPlateau: the optimizer uses a learning-rate schedule; the rate cannot be set');
    }
    logs.learning_rate = opt.learningRate;
    const current = logs[this.monitor];
    if (current === undefined) {
      this.missing.warn(this.monitor, logs, 'learning rate reduction is');
      return;
    }
    const delta = this.args.minDelta ?? 1e-4;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.wait = 0;
    }
    const better = this.mode === 'min' ? current < this.best - delta : current > this.best + delta;
    if (better) {
      this.best = current;
      this.wait = 0;
    } else if (this.cooldownCounter <= 0) {
      this.wait++;
      if (this.wait >= (this.args.patience ?? 10)) {
        const old = opt.learningRate;
        const minLr = this.args.minLr ?? 0;
        if (old > minLr) {
          const next = Math.max(old * (this.args.factor ?? 0.1), minLr);
          opt.learningRate = next;
          if (this.args.verbose) console.log(`\nEpoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${next}.`);
          this.cooldownCounter = this.args.cooldown ?? 0;
          this.wait = 0;
        }
      }
    }
  }
}
