// Runs the demo (tools/demo.ts) in a child process, optionally signalling itself at a named point, and reads back a
// run folder's checkpoints, TensorBoard epochs and history for the demo and kill tests.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseEvents, scalarsOf } from '../../src/io/tensorboard/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { SIGNAL_ENV } from '../../tools/demo/signal-hook.js';
import { dropEpochsFrom } from '../../tools/demo/trim-logs.js';
import type { RunHistory } from '../../tools/demo/run-dir.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface DemoRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  runDir: string;
}

/**
 * Runs the demo in a child process; `signalAt` (GRAFT_DEMO_SIGNAL_AT) makes it signal itself at an exact point,
 * `killAfterMs` kills it with SIGKILL after that long (wherever it then is).
 */
export function runDemo(args: string[], outDir: string, signalAt?: string, killAfterMs?: number): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    // NOTE: tsx's CLI relays SIGINT and SIGKILLs a child that does not answer within 60 ms (a busy GPU step),
    // so the demo runs in one process with tsx as a loader, as `npm run demo` does.
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? '/tmp' };
    if (signalAt) env[SIGNAL_ENV] = signalAt;
    else delete env[SIGNAL_ENV];
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/demo.ts', ...args], { cwd: ROOT, env });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', () => {});
    child.on('error', reject);
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const runs = existsSync(outDir) ? readdirSync(outDir) : [];
      resolve({ code, signal, stdout, runDir: runs.length === 1 ? join(outDir, runs[0]!) : '' });
    });
  });
}

/** 1-based epochs of the checkpoint files in the run folder, sorted. */
export function checkpointEpochs(runDir: string): number[] {
  return readdirSync(join(runDir, 'checkpoints')).map((f) => /^epoch-(\d+)\.safetensors$/.exec(f)).filter((m) => m !== null).map((m) => Number(m[1])).sort((a, b) => a - b);
}

/** The steps (0-based epochs) of the `epoch_loss` scalars in the run's TensorBoard train logs, in file order. */
export function loggedEpochs(runDir: string): number[] {
  const dir = join(runDir, 'logs', 'train');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).sort().flatMap((f) => {
    // NOTE: a kill mid-flush may leave a torn last record; TensorBoard (and a resume) stop reading there.
    const bytes = new Uint8Array(readFileSync(join(dir, f)));
    return scalarsOf(parseEvents(dropEpochsFrom(bytes, Infinity, f) ?? bytes, f));
  }).filter((s) => s.tag === 'epoch_loss').map((s) => s.step);
}

export function historyEpochs(runDir: string): number[] {
  const p = join(runDir, 'history.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as RunHistory).epoch : [];
}

/** Every checkpointed epoch is in TensorBoard and history.json, and every checkpoint file loads. */
export async function expectLogsCoverCheckpoints(runDir: string): Promise<void> {
  const ck = checkpointEpochs(runDir);
  const done = ck.length === 0 ? [] : [...Array(Math.max(...ck)).keys()];
  for (const e of done) expect(loggedEpochs(runDir)).toContain(e);
  for (const e of done) expect(historyEpochs(runDir)).toContain(e);
  for (const e of ck) {
    const f = await readSafetensors(join(runDir, 'checkpoints', `epoch-${String(e).padStart(2, '0')}.safetensors`));
    expect(JSON.parse(f.metadata['training']!).epochsDone).toBe(e);
  }
}

