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
  /** The position of the backup in the store (saved or restored in this fit), or null when there is none yet. */
  saved: FitPosition | null = null;
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
    this.saved = null;
    const position = await this.restoreLatest();
    this.restored = position;
    this.pending = position;
  }

  /**
   * Loads the stored backup into the model (weights, optimizer state, random stream) and returns its position, or
   * null when the store holds none. Fit's device-loss recovery calls it too, after re-creating the model's tensors.
   */
  async restoreLatest(): Promise<FitPosition | null> {
    const bytes = await this.store.load();
    if (!bytes) return null;
    const { file, position } = decodeBackup(bytes, this.store.location);
    const model = this.trainedModel;
    if (!model.compiled) throw new Error(`Graft BackupAndRestore: model '${model.name}' must be compiled before fit restores ${this.store.location}`);
    restoreCheckpoint(model, file, this.store.location);
    this.saved = position;
    return position;
  }

  /** Backs the model up now, as at `position` (fit's device-loss recovery takes a first copy before training). */
  async saveAt(position: FitPosition): Promise<void> {
    await this.store.save(await encodeBackup(this.trainedModel, position));
    this.saved = position;
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
    if (!this.deleteCheckpoint) return;
    await this.store.remove();
    this.saved = null;
  }

  private async backup(epochDone: boolean): Promise<void> {
    const progress = this.params?.progress;
    if (!progress) throw new Error('Graft BackupAndRestore: fit did not share its progress (the callback runs only inside fit)');
    await this.saveAt(await progress.position(epochDone));
  }
}
