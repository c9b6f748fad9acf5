// Where a backup lives, as bytes: a file in Node (backup-file-store.ts), OPFS or IndexedDB in a browser.

/** Stores one backup; save must replace the previous one atomically (a crash leaves the old or the new, whole). */
export interface BackupStore {
  /** Names the place in messages (a path, a key). */
  readonly location: string;
  /** The stored backup, or null when there is none. */
  load(): Promise<Uint8Array | null>;
  save(bytes: Uint8Array): Promise<void>;
  /** Deletes the backup (no error when there is none). */
  remove(): Promise<void>;
}
