// Prints Keras' progress: `Epoch 3/10`, then the bar with running logs, then the epoch line with val_ logs.

import { platform } from '../../platform/platform.js';
import { ProgressBar, printEpochHeader, type ProgressStream } from '../progress.js';
import { Callback, type Logs } from './callback.js';

export class ProgbarLogger extends Callback {
  private bar: ProgressBar | null = null;
  private seen = 0;

  constructor(private readonly stream: ProgressStream = platform().stdout) {
    super();
  }

  override async onEpochBegin(epoch: number, _logs: Logs = {}): Promise<void> {
    const p = this.params!;
    if (p.verbose === 0) return;
    printEpochHeader(this.stream, epoch, p.epochs);
    this.bar = new ProgressBar({ target: p.steps, verbose: p.verbose, stream: this.stream });
    this.seen = 0;
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
