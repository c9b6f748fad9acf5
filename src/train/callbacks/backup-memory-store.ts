// BackupAndRestore's store in memory: the host copy of the training state that device-loss recovery restores when
// no backupDir is given. It survives a lost GPU device, not the process.

import type { BackupStore } from './backup-store.js';

/** A BackupStore holding the last backup's bytes in memory. */
export class MemoryBackupStore implements BackupStore {
  readonly location = 'in-memory backup';
  private bytes: Uint8Array | null = null;

  async load(): Promise<Uint8Array | null> {
    return this.bytes;
  }

  async save(bytes: Uint8Array): Promise<void> {
    // NOTE: one reference swap: the previous backup stays whole until the new one replaces it.
    this.bytes = bytes;
  }

  async remove(): Promise<void> {
    this.bytes = null;
  }
}

/** A BackupStore in memory (for fit's device-loss recovery without a backupDir). */
export function memoryBackupStore(): MemoryBackupStore {
  return new MemoryBackupStore();
}
