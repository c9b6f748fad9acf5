// A run folder, `runs/<timestamp>/`: run.json (settings, base, classes), checkpoints/epoch-NN.safetensors,
// backup/ (BackupAndRestore's, while training), logs/ (TensorBoard), history.json, history.svg, model.safetensors. What --resume reads to continue a run.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../../src/node/atomic-write.js';
import type { BaseChoice } from './base.js';
import type { TransferSettings } from './options.js';

/** run.json: what a resumed run needs to rebuild the same setup. */
export interface RunInfo {
  settings: TransferSettings;
  base: BaseChoice;
  /** Name of the base model inside the classifier (to unfreeze its last layers). */
  baseName: string;
  classNames: string[];
  /** ISO time the run began. */
  startedAt: string;
}

/** history.json: every epoch's logs across both phases (and resumes), and the final test result. */
export interface RunHistory {
  /** 0-based epoch indices, in order. */
  epoch: number[];
  /** Per log key, one value per entry of `epoch` (NaN where an epoch did not log the key, e.g. no validation). */
  history: Record<string, number[]>;
  /** Seconds each epoch took. */
  seconds: number[];
  /** Epochs of feature extraction; fine-tuning began after them. */
  fineTuneAt: number;
  /** Loss and accuracy on the whole test set, once evaluated. */
  test?: Record<string, number>;
}

/** The paths inside a run folder. */
export function runPaths(dir: string) {
  return {
    dir,
    info: join(dir, 'run.json'),
    checkpoints: join(dir, 'checkpoints'),
    checkpointPattern: join(dir, 'checkpoints', 'epoch-{epoch:02d}.safetensors'),
    logs: join(dir, 'logs'),
    backup: join(dir, 'backup'),
    history: join(dir, 'history.json'),
    plot: join(dir, 'history.svg'),
    model: join(dir, 'model.safetensors'),
  };
}

/** `2026-11-28T14-05-09`: sortable, and valid in file names everywhere. */
function timestamp(d: Date): string {
  return d.toISOString().slice(0, 19).replace(/:/g, '-');
}

/** Creates `outDir/<timestamp>` (with a suffix if that exists already). */
export function createRunDir(outDir: string, now = new Date()): string {
  const base = join(outDir, timestamp(now));
  let dir = base;
  for (let k = 2; existsSync(dir); k++) dir = `${base}-${k}`;
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  return dir;
}

/** The newest run folder (by name) under outDir that has a run.json; throws when there is none. */
export function latestRunDir(outDir: string): string {
  const root = resolve(outDir);
  const runs = existsSync(root)
    ? readdirSync(root).filter((n) => existsSync(join(root, n, 'run.json')) && statSync(join(root, n)).isDirectory()).sort()
    : [];
  if (runs.length === 0) throw new Error(`no run to resume: ${outDir} holds no run folder with a run.json`);
  return join(outDir, runs.at(-1)!);
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  // NOTE: JSON has no NaN; epochs without a key store null, read back as NaN.
  await writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(value, null, 1)}\n`));
}

export function readRunInfo(dir: string): RunInfo {
  const p = runPaths(dir).info;
  if (!existsSync(p)) throw new Error(`cannot resume ${dir}: it has no run.json (not a run folder)`);
  return JSON.parse(readFileSync(p, 'utf8')) as RunInfo;
}

/** The run's history so far, keeping only epochs below `upTo` (those after the checkpoint are redone). */
export function readHistory(dir: string, upTo: number, fineTuneAt: number): RunHistory {
  const p = runPaths(dir).history;
  const empty: RunHistory = { epoch: [], history: {}, seconds: [], fineTuneAt };
  if (!existsSync(p)) return empty;
  const h = JSON.parse(readFileSync(p, 'utf8')) as RunHistory;
  const keep = h.epoch.map((e, i) => (e < upTo ? i : -1)).filter((i) => i >= 0);
  const history: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(h.history)) history[k] = keep.map((i) => (v[i] === null ? NaN : v[i]!));
  return { epoch: keep.map((i) => h.epoch[i]!), history, seconds: keep.map((i) => h.seconds[i]!), fineTuneAt };
}

/** The checkpoint with the highest epoch number in the run, with that number; null when there is none. */
export function latestCheckpoint(dir: string): { path: string; epoch: number } | null {
  const ckDir = runPaths(dir).checkpoints;
  if (!existsSync(ckDir)) return null;
  let best: { path: string; epoch: number } | null = null;
  for (const name of readdirSync(ckDir)) {
    const m = /^epoch-(\d+)\.safetensors$/.exec(name);
    if (m && (!best || Number(m[1]) > best.epoch)) best = { path: join(ckDir, name), epoch: Number(m[1]) };
  }
  return best;
}

/** Temp files of atomic writes (`.<name>.<pid>.<time>.<n>.tmp`) anywhere in the run folder, left by a killed run. */
export function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => /(^|[\\/])\.[^\\/]+\.tmp$/.test(p)).map((p) => join(dir, p));
}

/** Deletes the temp files a killed run left (never taken for checkpoints or backups); returns how many. */
export function removeTempFiles(dir: string): number {
  const files = tempFiles(dir);
  for (const f of files) rmSync(f, { force: true });
  return files.length;
}
