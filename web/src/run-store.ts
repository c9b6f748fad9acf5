// The run kept in the browser's origin-private file system (OPFS): settings, class names, the training images, the
// per-epoch history and the checkpoints that fit's ModelCheckpoint writes, so that a reload can resume it.

import type { StoredRun, TrainSettings } from './messages.js';

/** OPFS folder of the run (checkpoints go to CHECKPOINT_DIR inside it). */
export const RUN_DIR = 'graft-web';
export const CHECKPOINT_DIR = `${RUN_DIR}/ckpt`;
/** ModelCheckpoint's filepath: one whole-model file per epoch, as OPFS paths. */
export const CHECKPOINT_PATTERN = `${CHECKPOINT_DIR}/epoch-{epoch:02d}.safetensors`;
const CHECKPOINT_NAME = /^epoch-(\d+)\.safetensors$/;

/** run.json: everything but the images and checkpoints. */
export interface RunRecord {
  settings: TrainSettings;
  classNames: string[];
  /** Image files in OPFS (under RUN_DIR/images) with their class. */
  images: { file: string; label: string }[];
  baseName: string;
  /** Logs of every epoch done, in order. */
  history: Record<string, number>[];
}

async function dir(path: string, create: boolean): Promise<FileSystemDirectoryHandle> {
  let d = await navigator.storage.getDirectory();
  for (const part of path.split('/').filter(Boolean)) d = await d.getDirectoryHandle(part, { create });
  return d;
}

async function writeFile(d: FileSystemDirectoryHandle, name: string, data: Blob | string | Uint8Array): Promise<void> {
  const w = await (await d.getFileHandle(name, { create: true })).createWritable();
  try {
    await w.write(data as Blob);
    // NOTE: createWritable writes to a swap file; close() swaps it in, so a failed write leaves the old file.
    await w.close();
  } catch (e) {
    await w.abort().catch(() => undefined);
    throw e;
  }
}

/** Deletes the stored run (images, history, checkpoints). */
export async function clearRun(): Promise<void> {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(RUN_DIR, { recursive: true }).catch((e: unknown) => {
    if ((e as DOMException).name !== 'NotFoundError') throw e;
  });
}

/** Starts a new stored run: clears the old one, copies the images in, writes run.json. */
export async function createRun(record: Omit<RunRecord, 'images' | 'history'>, images: { name: string; label: string; blob: Blob }[]): Promise<RunRecord> {
  await clearRun();
  const imgDir = await dir(`${RUN_DIR}/images`, true);
  const stored: RunRecord['images'] = [];
  for (const [i, img] of images.entries()) {
    const ext = /\.[a-z0-9]{1,5}$/i.exec(img.name)?.[0] ?? '';
    const file = `${String(i).padStart(5, '0')}${ext.toLowerCase()}`;
    await writeFile(imgDir, file, img.blob);
    stored.push({ file, label: img.label });
  }
  const run: RunRecord = { ...record, images: stored, history: [] };
  await saveRecord(run);
  return run;
}

/** Rewrites run.json. */
export async function saveRecord(run: RunRecord): Promise<void> {
  await writeFile(await dir(RUN_DIR, true), 'run.json', JSON.stringify(run));
}

/** The stored run.json, or null when there is none (or it is unreadable). */
export async function loadRecord(): Promise<RunRecord | null> {
  try {
    const f = await (await (await dir(RUN_DIR, false)).getFileHandle('run.json')).getFile();
    return JSON.parse(await f.text()) as RunRecord;
  } catch {
    return null;
  }
}

/** The stored images as Blobs with their labels. */
export async function loadImages(run: RunRecord): Promise<{ blob: Blob; label: string }[]> {
  const d = await dir(`${RUN_DIR}/images`, false);
  return Promise.all(run.images.map(async (img) => ({ blob: await (await d.getFileHandle(img.file)).getFile(), label: img.label })));
}

/** Checkpoints present, newest (most epochs) first. */
export async function listCheckpoints(): Promise<{ epoch: number; path: string; name: string }[]> {
  let d: FileSystemDirectoryHandle;
  try {
    d = await dir(CHECKPOINT_DIR, false);
  } catch {
    return [];
  }
  const out: { epoch: number; path: string; name: string }[] = [];
  for await (const name of (d as unknown as { keys(): AsyncIterable<string> }).keys()) {
    const m = CHECKPOINT_NAME.exec(name);
    if (m) out.push({ epoch: Number(m[1]), path: `${CHECKPOINT_DIR}/${name}`, name });
  }
  return out.sort((a, b) => b.epoch - a.epoch);
}

/** Removes every checkpoint but the newest (the quota is finite; one is enough to resume). */
export async function pruneCheckpoints(): Promise<void> {
  const all = await listCheckpoints();
  if (all.length < 2) return;
  const d = await dir(CHECKPOINT_DIR, false);
  for (const c of all.slice(1)) await d.removeEntry(c.name);
}

/** What the page shows about the stored run. */
export async function describeRun(): Promise<StoredRun | null> {
  const run = await loadRecord();
  if (!run) return null;
  const newest = (await listCheckpoints())[0] ?? null;
  return {
    settings: run.settings, classNames: run.classNames, images: run.images.length, baseName: run.baseName,
    checkpointEpoch: newest?.epoch ?? 0, checkpoint: newest?.path ?? null, history: run.history.slice(0, newest?.epoch ?? 0),
  };
}
