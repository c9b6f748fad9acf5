// BackupAndRestore's store in Node: `<backupDir>/backup.safetensors`, replaced atomically (temp file, fsync, rename).

import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic-write.js';
import type { BackupStore } from './backup-store.js';

/** The backup file inside a backup folder. */
export const BACKUP_FILE = 'backup.safetensors';

/** A BackupStore on a folder. */
export function backupFileStore(backupDir: string): BackupStore {
  const path = join(backupDir, BACKUP_FILE);
  return {
    location: path,
    load: async () => (existsSync(path) ? new Uint8Array(readFileSync(path)) : null),
    save: async (bytes) => {
      mkdirSync(backupDir, { recursive: true });
      await writeFileAtomic(path, bytes);
    },
    remove: async () => {
      rmSync(path, { force: true });
      // NOTE: the folder goes too when nothing else is in it (Keras deletes its backup folder).
      if (existsSync(backupDir) && readdirSync(backupDir).length === 0) rmdirSync(backupDir);
    },
  };
}
