// Device-loss recovery inside fit: when the GPU device is lost mid-training, fit gets a new device, re-creates the
// model's weights and optimizer slots on it, restores the last backup (BackupAndRestore's store, or an in-memory
// host copy) and continues from the backup's position; a second loss soon after ends fit naming the backup.

import type { Device } from '../gpu/device.js';
import { getDevice, replaceLostDevice } from '../tensor/engine.js';
import { platform } from '../platform/platform.js';
import { BackupAndRestore } from './callbacks/backup-and-restore.js';
import { MemoryBackupStore, memoryBackupStore } from './callbacks/backup-memory-store.js';
import type { Callback } from './callbacks/callback.js';
import type { FitPosition } from './callbacks/fit-position.js';
import type { TrainingModel } from './training-model.js';

/** Options of fit's `recoverDeviceLoss`. */
export interface DeviceRecoveryOptions {
  /** Batches: a loss fewer than this many trained batches after the previous recovery ends fit (default: one epoch's steps, or 100 when unknown). */
  window?: number;
  /** How often the in-memory host copy is taken when fit has no BackupAndRestore callback: 'epoch' (default) or every N batches. */
  saveFreq?: 'epoch' | number;
}

/** Raised when fit cannot recover from a lost device; the message names the backup to resume from. */
export class DeviceLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceLostError';
  }
}

/** `epoch 2 step 3`: the epoch as the progress bar numbers it (1-based), the step as batches of it done. */
function describePosition(p: FitPosition | null): string {
  return p ? `epoch ${p.epoch + 1} step ${p.step}` : 'no position';
}

/** Watches fit for a lost device and brings training back from the last backup. */
export class DeviceRecovery {
  /** The callback whose store holds the host copy (the user's, or an in-memory one fit must run). */
  readonly backup: BackupAndRestore;
  /** True when `backup` was made here and fit must add it to its callbacks. */
  readonly ownsBackup: boolean;
  /** Recoveries done in this fit. */
  recoveries = 0;
  private readonly window: number;
  private sinceRecovery = 0;

  constructor(
    private readonly model: TrainingModel,
    callbacks: readonly Callback[],
    options: DeviceRecoveryOptions,
    stepsPerEpoch: number | null,
    private readonly verbose: number,
  ) {
    const window = options.window ?? stepsPerEpoch ?? 100;
    if (!(Number.isInteger(window) && window >= 1)) throw new Error(`Graft fit: recoverDeviceLoss.window must be a positive integer, got ${options.window}`);
    this.window = window;
    const given = callbacks.find((c): c is BackupAndRestore => c instanceof BackupAndRestore);
    this.ownsBackup = !given;
    this.backup = given ?? new BackupAndRestore({ store: memoryBackupStore(), saveFreq: options.saveFreq ?? 'epoch' });
  }

  /** The device the model's weights live on (the default device for a model without weights). */
  device(): Device {
    for (const v of this.model.namedWeights().values()) return v.value.device;
    return getDevice();
  }

  /** Takes the first host copy, at the position fit starts from, unless a restored backup already is one. */
  async start(position: FitPosition): Promise<void> {
    if (!this.backup.saved) await this.backup.saveAt(position);
  }

  /** Counts a trained batch (the window restarts at each recovery). */
  batchDone(): void {
    this.sinceRecovery++;
  }

  /** Whether `error` came from a lost device (the model's device reports it lost). */
  isDeviceLoss(_error: unknown): boolean {
    return this.device().isLost;
  }

  /** Re-creates the device and the model's GPU state, restores the backup and returns the position to continue from. */
  async recover(error: unknown): Promise<FitPosition> {
    const lost = this.device();
    const reason = lost.lostReason ?? String((error as Error)?.message ?? error);
    const where = this.backupName();
    if (this.recoveries > 0 && this.sinceRecovery < this.window) {
      throw new DeviceLostError(`Graft fit: the GPU device was lost again (${reason}) ${this.sinceRecovery} batch${this.sinceRecovery === 1 ? '' : 'es'} after the last recovery (window: ${this.window}); stopping. Resume from ${where}`);
    }
    const optimizer = this.model.compiled!.optimizer;
    if (!optimizer.forgetDeviceState && Object.keys(optimizer.getState().slots).length > 0) {
      throw new DeviceLostError(`Graft fit: the GPU device was lost (${reason}) and the optimizer has no forgetDeviceState(), so its slots cannot move to a new device. Resume from ${where}`);
    }
    let device: Device;
    try {
      device = await replaceLostDevice(lost);
    } catch (e) {
      throw new DeviceLostError(`Graft fit: the GPU device was lost (${reason}) and no new one could be created (${(e as Error)?.message ?? e}). Resume from ${where}`);
    }
    for (const v of this.model.namedWeights().values()) v.rebind(device);
    optimizer.forgetDeviceState?.();
    const position = await this.backup.restoreLatest();
    if (!position) throw new DeviceLostError(`Graft fit: the GPU device was lost (${reason}) before any backup was taken; nothing to restore`);
    this.recoveries++;
    this.sinceRecovery = 0;
    const line = `GPU device lost (${reason}); restored ${describePosition(position)} from ${this.storeName()} on a new device`;
    const out = platform().stdout;
    // NOTE: on a terminal the epoch's bar was being redrawn in place; the message starts a line of its own.
    if (this.verbose > 0) out.write(`${this.verbose === 1 && out.isTTY ? '\n' : ''}${line}\n`);
    else console.warn(`Graft fit: ${line}`);
    return position;
  }

  private storeName(): string {
    return this.backup.store instanceof MemoryBackupStore ? 'the in-memory backup' : this.backup.store.location;
  }

  /** The backup to resume from, as the fatal error names it. */
  private backupName(): string {
    const at = describePosition(this.backup.saved);
    if (this.backup.store instanceof MemoryBackupStore) {
      return `the in-memory backup at ${at}; re-run with backupAndRestore({backupDir}) to keep it on disk`;
    }
    return `${this.backup.store.location} (${at}): run fit again with the same backupAndRestore callback`;
  }
}
