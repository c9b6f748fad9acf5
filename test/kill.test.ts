// kill -9 fault injection: the shortened demo (32x32 generated images, 2 + 1 epochs of 2 batches, a backup after
// every batch) is killed with SIGKILL 20 times at seeded-random places: right after a batch and its backup, half-way
// through an atomic write (run.json, history.json, a checkpoint, a backup), after the TensorBoard flush, right after a
// checkpoint, at the start of an epoch end, or after a seeded-random delay (wherever the run then is). After every
// kill each checkpoint and the backup load, no temp file is taken for either, and the logs hold every checkpointed
// epoch; every run, resumed until it finishes, ends with the weights of an uninterrupted run (to 1e-6) and each
// epoch once in TensorBoard and history.json. The assertions do not depend on where a kill landed.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../src/io/safetensors.js';
import { loadModel } from '../src/train/model.js';
import { decodeBackup } from '../src/train/callbacks/backup-bytes.js';
import { rng } from '../src/tensor/tensor.js';
import { DEMO_DEFAULTS } from '../tools/demo/options.js';
import { latestCheckpoint, runPaths, tempFiles } from '../tools/demo/run-dir.js';
import { useDevice } from './helpers/gpu.js';
import { expectClose } from './helpers/check.js';
import { makeDataset } from './helpers/demo-data.js';
import { checkpointEpochs, expectLogsCoverCheckpoints, historyEpochs, loggedEpochs, runDemo } from './helpers/demo-run.js';

useDevice();

const WEIGHTS = join(import.meta.dirname, '..', DEMO_DEFAULTS.mobileNetWeights);
const present = existsSync(WEIGHTS);
if (!present) console.log(`kill.test: skipped, ${WEIGHTS} is absent (../shared is not mounted)`);

const KILLS = 20;

/** One seeded-random kill: a GRAFT_DEMO_SIGNAL_AT point with SIGKILL, or a delay after which the test kills. */
interface Kill {
  at?: string;
  afterMs?: number;
  label: string;
}

function pickKill(r: () => number): Kill {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  // NOTE: counts are per process (a resumed one too), so that nearly every pick lands before the run finishes.
  const kinds = [
    () => `after-batch:${int(1, 2)}`,
    () => `mid-write:${int(1, 4)}`,
    () => 'before-checkpoint:1',
    () => 'after-checkpoint:1',
    () => 'epoch-end-begin:1',
  ];
  const k = int(0, kinds.length);
  if (k === kinds.length) {
    const ms = int(1500, 5000);
    return { afterMs: ms, label: `after ${ms} ms` };
  }
  const at = `${kinds[k]!()}:SIGKILL`;
  return { at, label: at };
}

async function modelTensors(path: string): Promise<Map<string, Float32Array>> {
  const f = await readSafetensors(path);
  return new Map([...f.tensors].map(([k, t]) => [k, t.data as Float32Array]));
}

/** What must hold after any kill: checkpoints and the backup load, temp files are never taken, logs cover checkpoints. */
async function expectConsistent(runDir: string): Promise<void> {
  for (const e of checkpointEpochs(runDir)) {
    const f = await readSafetensors(join(runDir, 'checkpoints', `epoch-${String(e).padStart(2, '0')}.safetensors`));
    expect(JSON.parse(f.metadata['training']!).epochsDone).toBe(e);
  }
  const last = latestCheckpoint(runDir);
  if (last) {
    expect(last.path).toMatch(/epoch-\d\d\.safetensors$/);
    const m = await loadModel(last.path);
    expect(m.epochsDone).toBe(last.epoch);
    m.dispose();
  }
  const backup = join(runPaths(runDir).backup, 'backup.safetensors');
  if (existsSync(backup)) expect(decodeBackup(new Uint8Array(readFileSync(backup)), backup).position.epoch).toBeGreaterThanOrEqual(0);
  await expectLogsCoverCheckpoints(runDir);
}

describe.skipIf(!present)('kill -9 at seeded-random moments', () => {
  it(`${KILLS} kills: every run folder stays loadable and consistent, and resumed runs end with the uninterrupted weights`, async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'graft-kill-'));
    const data = join(tmp, 'data');
    await makeDataset(data);
    const args = (out: string) => ['--data', data, '--out', out, '--image-size', '32', '--batch-size', '4', '--steps', '2', '--epochs', '2', '--fine-tune-epochs', '1', '--backup-steps', '1', '--verbose', '0'];

    const refOut = join(tmp, 'ref');
    const ref = await runDemo(args(refOut), refOut);
    expect(ref.code, ref.stdout).toBe(0);
    const want = await modelTensors(join(ref.runDir, 'model.safetensors'));

    const r = rng(2026);
    const landed: string[] = [];
    const finished: string[] = [];
    for (let chain = 0; landed.length < KILLS; chain++) {
      const out = join(tmp, `runs-${chain}`);
      let runDir = '';
      for (;;) {
        const kill: Kill = landed.length < KILLS ? pickKill(r) : { label: 'none' };
        const run = await runDemo(runDir ? [...args(out), '--resume', runDir] : args(out), out, kill.at, kill.afterMs);
        if (!runDir && run.runDir && existsSync(join(run.runDir, 'run.json'))) runDir = run.runDir;
        if (run.code === 0) {
          finished.push(runDir);
          break;
        }
        expect(run.signal, `${kill.label}\n${run.stdout}`).toBe('SIGKILL');
        landed.push(kill.label);
        console.log(`kill.test: kill ${landed.length} ${kill.label} (${runDir ? 'run folder ready' : 'before run.json'})`);
        // NOTE: a kill half-way through a write leaves its temp file behind: proof that the kill landed inside it.
        if (kill.at?.startsWith('mid-write') && run.runDir) expect(tempFiles(run.runDir).length, kill.label).toBeGreaterThan(0);
        // NOTE: killed before run.json was complete: there is nothing to resume; the next chain starts afresh.
        if (!runDir) break;
        await expectConsistent(runDir);
      }
    }
    expect(landed).toHaveLength(KILLS);
    expect(finished.length).toBeGreaterThan(0);
    for (const dir of finished) {
      expect(checkpointEpochs(dir)).toEqual([1, 2, 3]);
      expect(loggedEpochs(dir)).toEqual([0, 1, 2]);
      expect(historyEpochs(dir)).toEqual([0, 1, 2]);
      expect(existsSync(runPaths(dir).backup)).toBe(false);
      expect(tempFiles(dir)).toEqual([]);
      const got = await modelTensors(join(dir, 'model.safetensors'));
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, v] of want) expectClose(got.get(k)!, v, { atol: 1e-6, rtol: 0 }, `${dir} ${k}`);
    }
    console.log(`kill.test: ${landed.length} kills (${landed.join(', ')}), ${finished.length} runs finished after resuming`);
  }, 300_000);
});
