// BackupAndRestore (Keras 3): backs up the whole training state every epoch or every N batches; a fit started
// again with the same callback after a crash or kill restores the last backup and continues from it (skipping the
// finished epochs and batches) to the same weights as an uninterrupted run; a fit that ends deletes the backup.

import { restoreCheckpoint } from '../checkpoint.js';
import { Callback, type Logs } from './callback.js';
import { decodeBackup, encodeBackup } from './backup-bytes.js';
import { backupFileStore } from './backup-file-store.js';
import type { BackupStore } from './backup-store.js';
import type { FitPosition, ResumeSource } from './fit-position.js';

/** Options of backupAndRestore(). */
export interface BackupAndRestoreArgs {
  /** Folder of the backup (Node); give this or `store`. */
  backupDir?: string;
  /** Where the backup bytes go (e.g. OPFS in a browser); overrides backupDir. */
  store?: BackupStore;
  /** 'epoch' (default) or a number of batches, counted across epochs. */
  saveFreq?: 'epoch' | number;
  /** Delete the backup when fit ends (default true); a killed fit never gets there, so its backup stays. */
  deleteCheckpoint?: boolean;
}

export class BackupAndRestore extends Callback implements ResumeSource {
  readonly store: BackupStore;
  readonly saveFreq: 'epoch' | number;
  readonly deleteCheckpoint: boolean;
  /** The position restored at the start of the last fit, or null when it started afresh. */
  restored: FitPosition | null = null;
  private pending: FitPosition | null = null;
  private batches = 0;

  constructor(args: BackupAndRestoreArgs) {
    super();
    if (!args.store && !args.backupDir) throw new Error('Graft BackupAndRestore: give backupDir (or a store)');
    this.store = args.store ?? backupFileStore(args.backupDir!);
    this.saveFreq = args.saveFreq ?? 'epoch';
    if (this.saveFreq !== 'epoch' && !(Number.isInteger(this.saveFreq) && this.saveFreq > 0)) {
      throw new Error(`Graft BackupAndRestore: saveFreq must be 'epoch' or a positive integer, got ${JSON.stringify(args.saveFreq)}`);
    }
    this.deleteCheckpoint = args.deleteCheckpoint ?? true;
  }

  /** Restores the backup when there is one; fit then continues from its position. */
  override async onTrainBegin(_logs: Logs = {}): Promise<void> {
    this.batches = 0;
    this.restored = null;
    const bytes = await this.store.load();
    if (!bytes) return;
    const { file, position } = decodeBackup(bytes, this.store.location);
    const model = this.trainedModel;
    if (!model.compiled) throw new Error(`Graft BackupAndRestore: model '${model.name}' must be compiled before fit restores ${this.store.location}`);
    restoreCheckpoint(model, file, this.store.location);
    this.restored = position;
    this.pending = position;
  }

  takeResumePosition(): FitPosition | null {
    const p = this.pending;
    this.pending = null;
    return p;
  }

  override async onBatchEnd(_batch: number, _logs: Logs): Promise<void> {
    if (this.saveFreq === 'epoch' || ++this.batches % this.saveFreq !== 0) return;
    await this.backup(false);
  }

  override async onEpochEnd(_epoch: number, _logs: Logs): Promise<void> {
    if (this.saveFreq === 'epoch') await this.backup(true);
  }

  override async onTrainEnd(_logs: Logs = {}): Promise<void> {
    if (this.deleteCheckpoint) await this.store.remove();
  }

  private async backup(epochDone: boolean): Promise<void> {
    const progress = this.params?.progress;
    if (!progress) throw new Error('Graft BackupAndRestore: fit did not share its progress (the callback runs only inside fit)');
    await this.store.save(await encodeBackup(this.trainedModel, await progress.position(epochDone)));
  }
}
