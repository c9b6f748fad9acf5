// The autotuner: probes gate candidates, choices persist per adapter and bucket, failures keep the heuristic,
// GRAFT_TUNE and the JSON cache file; and a tuned matmul still matches the oracle.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { configureTuner, resetTuner, tunedVariant, tunerIdle, tunerRecords, type TuneJob, type TuneStore } from '../src/gpu/tuner.js';
import { matmulVariant } from '../src/ops/matmul.js';
import { matmulRef } from '../src/reference/matmul.js';
import { ref } from '../src/reference/index.js';
import { configureTunerFromEnv, fileTuneStore } from '../src/node/tune-cache.js';
import { expectTensor, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

/** An in-memory store that counts saves. */
function memoryStore(initial: Record<string, string> = {}): TuneStore & { data: Record<string, string>; saves: number } {
  const s = {
    data: { ...initial },
    saves: 0,
    async load() {
      return { ...s.data };
    },
    async save(c: Record<string, string>) {
      s.data = { ...c };
      s.saves++;
    },
  };
  return s;
}

/** A job whose 'wrong' candidate does no work (so it would time fastest) but fails its probe. */
function fakeJob(calls: string[]): TuneJob {
  const x = g.zeros([64]);
  return {
    candidates: ['good', 'wrong', 'other'],
    run: (v) => {
      calls.push(v);
      if (v !== 'wrong') g.relu(x).dispose();
    },
    probe: async (v) => v !== 'wrong',
    dispose: () => x.dispose(),
  };
}

afterEach(() => {
  configureTuner({ mode: 'off', store: null });
  resetTuner();
});

describe('tuner', () => {
  it('is off by default: the heuristic, and no job is made', () => {
    expect(tunedVariant(device(), 'fam', 'b0', 'heur', () => { throw new Error('no job when off'); })).toBe('heur');
  });

  it('keeps only candidates that pass the probe, stores the choice and serves it afterwards', async () => {
    const store = memoryStore();
    configureTuner({ mode: 'on', store, budgetMs: 5 });
    const calls: string[] = [];
    expect(tunedVariant(device(), 'fam', 'b1', 'heur', () => fakeJob(calls))).toBe('heur');
    // NOTE: a second call before the job ran must not queue a second job.
    expect(tunedVariant(device(), 'fam', 'b1', 'heur', () => { throw new Error('queued twice'); })).toBe('heur');
    await tunerIdle();
    const rec = tunerRecords().find((r) => r.key.endsWith('|fam|b1'))!;
    expect(rec).toBeDefined();
    expect(Number.isNaN(rec.ms['wrong'])).toBe(true);
    expect(calls).not.toContain('wrong');
    expect(['good', 'other']).toContain(rec.chosen);
    expect(rec.ms['good']).toBeGreaterThan(0);
    expect(store.saves).toBe(1);
    expect(store.data[rec.key]).toBe(rec.chosen);
    expect(tunedVariant(device(), 'fam', 'b1', 'heur', () => { throw new Error('already tuned'); })).toBe(rec.chosen);
    // A fresh process (in-memory state reset) reads the choice back from the store without tuning again.
    resetTuner();
    configureTuner({ mode: 'on', store });
    expect(tunedVariant(device(), 'fam', 'b1', 'heur', () => fakeJob([]))).toBe('heur');
    await tunerIdle();
    expect(tunerRecords()).toHaveLength(0);
    expect(tunedVariant(device(), 'fam', 'b1', 'heur', () => { throw new Error('already stored'); })).toBe(rec.chosen);
  });

  it('keeps the heuristic when a job fails, and goes on with the next job', async () => {
    configureTuner({ mode: 'on', store: memoryStore(), budgetMs: 5 });
    tunedVariant(device(), 'fam', 'bad', 'heur', () => { throw new Error('kaput'); });
    tunedVariant(device(), 'fam', 'b2', 'heur', () => fakeJob([]));
    await tunerIdle();
    const bad = tunerRecords().find((r) => r.key.endsWith('|fam|bad'))!;
    expect(bad.error).toBe('kaput');
    expect(bad.chosen).toBe('heur');
    expect(tunerRecords().some((r) => r.key.endsWith('|fam|b2') && r.error === undefined)).toBe(true);
  });

  it('reports an unreadable store once, tunes in memory and leaves the file alone', async () => {
    const broken: TuneStore = {
      load: async () => {
        throw new Error('Graft tuner: x.json is not JSON');
      },
      save: async () => {
        throw new Error('must not write over an unreadable store');
      },
    };
    configureTuner({ mode: 'on', store: broken, budgetMs: 5 });
    tunedVariant(device(), 'fam', 'b3', 'heur', () => fakeJob([]));
    tunedVariant(device(), 'fam', 'b4', 'heur', () => fakeJob([]));
    await tunerIdle();
    expect(tunerRecords().filter((r) => r.key === 'store').map((r) => r.error)).toEqual(['Graft tuner: x.json is not JSON']);
    const tuned = tunerRecords().filter((r) => r.key.endsWith('|fam|b3') || r.key.endsWith('|fam|b4'));
    expect(tuned.map((r) => r.error)).toEqual([undefined, undefined]);
  });

  it('tunes a matmul bucket over the runnable f32 variants, and the tuned call still matches the oracle', async () => {
    const store = memoryStore();
    configureTuner({ mode: 'on', store, budgetMs: 5 });
    const va = randomValues(40 * 36, 1);
    const vb = randomValues(36 * 44, 2);
    const a = g.tensor(va, [40, 36]);
    const b = g.tensor(vb, [36, 44]);
    g.matmul(a, b).dispose();
    await tunerIdle();
    const rec = tunerRecords().find((r) => r.key.includes('|matmul|'))!;
    expect(Object.keys(rec.ms).sort()).toEqual(['register', 'subgroup', 'tiled']);
    for (const v of Object.values(rec.ms)) expect(v).toBeGreaterThan(0);
    expect(matmulVariant(a, b)).toBe(rec.chosen);
    await expectTensor(g.matmul(a, b), matmulRef(ref(va, [40, 36]), ref(vb, [36, 44])), { atol: 2e-5, rtol: 1e-4 }, `tuned (${rec.chosen})`);
  });
});

describe('tuning cache file and GRAFT_TUNE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'graft-tune-'));

  it('round-trips choices, treats a missing file as empty, and names a corrupt or oversized file', async () => {
    const path = join(dir, 'sub', 'tune.json');
    const store = fileTuneStore(path);
    expect(await store.load()).toEqual({});
    await store.save({ 'a|matmul|m5': 'tiled' });
    expect(await fileTuneStore(path).load()).toEqual({ 'a|matmul|m5': 'tiled' });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"version": 1, "choices": ');
    await expect(fileTuneStore(bad).load()).rejects.toThrow(`Graft tuner: ${bad} is not JSON`);
    writeFileSync(bad, '{"version": 2, "choices": {}}');
    await expect(fileTuneStore(bad).load()).rejects.toThrow('is not a version-1 tuning file');
    writeFileSync(bad, '{"version": 1, "choices": {"k": 3}}');
    await expect(fileTuneStore(bad).load()).rejects.toThrow("the choice for 'k' is not a variant name");
    writeFileSync(bad, ' '.repeat((1 << 20) + 1));
    await expect(fileTuneStore(bad).load()).rejects.toThrow('above the 1048576-byte limit');
  });

  it('reads GRAFT_TUNE (default off) and rejects other values', () => {
    expect(configureTunerFromEnv({})).toBe('off');
    expect(configureTunerFromEnv({ GRAFT_TUNE: 'on', GRAFT_TUNE_CACHE: join(dir, 't.json') })).toBe('on');
    expect(() => configureTunerFromEnv({ GRAFT_TUNE: 'maybe' })).toThrow("GRAFT_TUNE must be 'on' or 'off', got 'maybe'");
  });
});
