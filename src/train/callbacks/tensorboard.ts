// TensorBoard (Keras 3): scalar event files in `<logDir>/train` and `<logDir>/validation`, tagged `epoch_<key>`
// per epoch and, with updateFreq N, `batch_<key>` every N batches at the optimizer's global step.

import { joinPath } from '../../platform/paths.js';
import { EventWriter } from '../../io/tensorboard/index.js';
import { Callback, type Logs } from './callback.js';

/** Options of tensorBoard(). */
export interface TensorBoardArgs {
  /** Default 'logs'. */
  logDir?: string;
  /** 'epoch' (default) or every N batches (epoch scalars are written too). */
  updateFreq?: 'epoch' | number;
}

export class TensorBoard extends Callback {
  readonly logDir: string;
  private train: EventWriter | null = null;
  private validation: EventWriter | null = null;
  private batches = 0;

  constructor(private readonly args: TensorBoardArgs = {}) {
    super();
    this.logDir = args.logDir ?? 'logs';
    const f = args.updateFreq ?? 'epoch';
    if (f !== 'epoch' && !(Number.isInteger(f) && f > 0)) throw new Error(`Graft TensorBoard: updateFreq must be 'epoch' or a positive integer, got ${JSON.stringify(f)}`);
  }

  private writer(kind: 'train' | 'validation'): EventWriter {
    if (kind === 'train') return (this.train ??= new EventWriter(joinPath(this.logDir, 'train')));
    return (this.validation ??= new EventWriter(joinPath(this.logDir, 'validation')));
  }

  override async onTrainBegin(_logs: Logs = {}): Promise<void> {
    this.batches = 0;
    this.writer('train');
  }

  override async onBatchEnd(_batch: number, logs: Logs): Promise<void> {
    const f = this.args.updateFreq ?? 'epoch';
    this.batches++;
    if (f === 'epoch' || this.batches % f !== 0) return;
    const step = this.trainedModel.optimizer?.iterations ?? this.batches;
    const w = this.writer('train');
    for (const [k, v] of Object.entries(logs)) w.scalar(`batch_${k}`, v, step);
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    for (const [k, v] of Object.entries(logs)) {
      if (k.startsWith('val_')) this.writer('validation').scalar(`epoch_${k.slice(4)}`, v, epoch);
      else this.writer('train').scalar(`epoch_${k}`, v, epoch);
    }
    await this.train?.flush();
    await this.validation?.flush();
  }

  override async onTrainEnd(_logs: Logs = {}): Promise<void> {
    await this.train?.close();
    await this.validation?.close();
    this.train = null;
    this.validation = null;
  }
}
