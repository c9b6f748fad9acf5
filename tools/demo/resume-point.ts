// Where a resumed run continues: BackupAndRestore's backup/ when it is ahead of the last complete checkpoint
// (killed mid-epoch, with --backup-steps), else that checkpoint. A backup that is not ahead is stale (a kill between
// the checkpoint and the backup at an epoch end) and is deleted, so that fit does not restore it.

import { existsSync, readFileSync } from 'node:fs';
import { decodeBackup } from '../../src/train/callbacks/backup-bytes.js';
import { backupFileStore, type FitPosition } from '../../src/train/callbacks/index.js';
import { latestCheckpoint, runPaths } from './run-dir.js';

/** The resume point of a run folder. */
export interface ResumePoint {
  /** The last complete checkpoint, or null. */
  checkpoint: { path: string; epoch: number } | null;
  /** The backup to continue from (fit restores it), or null when the checkpoint is as far or further. */
  backup: { path: string; position: FitPosition } | null;
  /** Epochs complete at the resume point: the logs keep these and the run redoes the rest. */
  epochsDone: number;
}

/** Whether position `a` (epoch, batches done) lies after `epochs` complete epochs. */
function ahead(p: FitPosition, epochs: number): boolean {
  return p.epoch > epochs || (p.epoch === epochs && p.step > 0);
}

/** Reads the run folder's checkpoints and backup and picks the further; deletes a backup that is not ahead. */
export async function resumePoint(runDir: string, log: (line: string) => void): Promise<ResumePoint> {
  const checkpoint = latestCheckpoint(runDir);
  const store = backupFileStore(runPaths(runDir).backup);
  const done = checkpoint?.epoch ?? 0;
  if (!existsSync(store.location)) return { checkpoint, backup: null, epochsDone: done };
  const { position } = decodeBackup(new Uint8Array(readFileSync(store.location)), store.location);
  if (ahead(position, done)) return { checkpoint, backup: { path: store.location, position }, epochsDone: position.epoch };
  log(`The backup ${store.location} (epoch ${position.epoch}, batch ${position.step}) is not ahead of ${checkpoint?.path ?? 'the start'}; deleting it.`);
  await store.remove();
  return { checkpoint, backup: null, epochsDone: done };
}
