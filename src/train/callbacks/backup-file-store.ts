// BackupAndRestore's store on the platform's files: `<backupDir>/backup.safetensors` (Node's file system, OPFS in a
// browser), replaced atomically, so a kill mid-save leaves the previous backup loadable.

import { platform } from '../../platform/platform.js';
import { joinPath } from '../../platform/paths.js';
import type { BackupStore } from './backup-store.js';

/** The backup file inside a backup folder. */
export const BACKUP_FILE = 'backup.safetensors';

/** A BackupStore on a folder. */
export function backupFileStore(backupDir: string): BackupStore {
  const path = joinPath(backupDir, BACKUP_FILE);
  return {
    location: path,
    load: async () => ((await platform().files.fileSize(path)) === null ? null : platform().files.readFile(path)),
    save: (bytes) => platform().files.writeFileAtomic(path, bytes),
    remove: async () => {
      const files = platform().files;
      await files.remove(path);
      // NOTE: the folder goes too when nothing else is in it (Keras deletes its backup folder).
      if ((await files.isDirectory(backupDir)) && (await files.list(backupDir)).length === 0) await files.remove(backupDir);
    },
  };
}
