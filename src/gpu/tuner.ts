// The autotuner: the first time a shape class (bucket) of a kernel family is met on an adapter, it times the
// candidate variants within a small budget, keeps the fastest one that passed a correctness probe, and remembers
// the choice per adapter and bucket in a TuneStore (a JSON file in Node, IndexedDB in a browser).

import type { Device } from './device.js';

/** 'off': static heuristics (deterministic; the default, and the tests' setting). 'on': measure and cache. */
export type TuneMode = 'off' | 'on';

/** Where choices persist: a map from "adapter|family|bucket" to a variant name. */
export interface TuneStore {
  /** Every stored choice (an empty object when there is none yet). */
  load(): Promise<Record<string, string>>;
  /** Replaces the stored choices with `choices`. */
  save(choices: Record<string, string>): Promise<void>;
}

/** What a kernel family hands the tuner for one bucket: candidates, a way to run each, and a correctness probe. */
export interface TuneJob {
  /** Variant names to compare, in order of preference on ties. */
  candidates: readonly string[];
  /** Records one call of `variant` on the bucket's representative shape (the job owns its inputs). */
  run(variant: string): void;
  /** Resolves true when `variant`'s result agrees with the family's reference variant within float tolerance. */
  probe(variant: string): Promise<boolean>;
  /** Frees the job's inputs. */
  dispose(): void;
}

/** One tuning decision, for the bench's "which variant ran" lines and for tests. */
export interface TuneRecord {
  key: string;
  chosen: string;
  /** Milliseconds per call of each timed candidate; NaN for one that failed its probe. */
  ms: Record<string, number>;
  /** Why tuning failed, where it did (the heuristic stays in use). */
  error?: string;
}

interface TunerState {
  mode: TuneMode;
  store: TuneStore | null;
  /** Per-candidate time budget in milliseconds. */
  budgetMs: number;
  choices: Map<string, string> | null;
  pending: Map<string, () => TuneJob>;
  queue: Promise<void>;
  records: TuneRecord[];
}

const state: TunerState = {
  mode: 'off',
  store: null,
  budgetMs: 50,
  choices: null,
  pending: new Map(),
  queue: Promise.resolve(),
  records: [],
};

/** Sets the tuning mode, and optionally the store and the per-candidate time budget (ms). */
export function configureTuner(options: { mode: TuneMode; store?: TuneStore | null; budgetMs?: number }): void {
  state.mode = options.mode;
  if (options.store !== undefined) {
    state.store = options.store;
    state.choices = null;
  }
  if (options.budgetMs !== undefined) state.budgetMs = options.budgetMs;
}

/** The current tuning mode. */
export function tuneMode(): TuneMode {
  return state.mode;
}

/** The adapter part of a cache key: vendor, architecture and driver description. */
export function adapterKey(device: Device): string {
  const i = device.adapterInfo;
  return [i.vendor, i.architecture, i.device, i.description].map((s) => s || '-').join('/');
}

/**
 * The variant for `family` at `bucket`: the stored choice when tuning is on and one exists; otherwise `heuristic`,
 * and, when tuning is on, a tuning job is queued (once per key) whose choice later calls of the bucket get.
 */
export function tunedVariant(device: Device, family: string, bucket: string, heuristic: string, job: () => TuneJob): string {
  if (state.mode === 'off') return heuristic;
  const key = `${adapterKey(device)}|${family}|${bucket}`;
  const chosen = state.choices?.get(key);
  if (chosen !== undefined) return chosen;
  if (!state.pending.has(key)) {
    state.pending.set(key, job);
    // NOTE: a failed job (a GPU error, a lost device) keeps the heuristic for its key and never blocks the queue.
    state.queue = state.queue
      .then(() => runJob(device, key))
      .catch((e: unknown) => {
        state.pending.delete(key);
        state.records.push({ key, chosen: heuristic, ms: {}, error: e instanceof Error ? e.message : String(e) });
      });
  }
  return heuristic;
}

/** Resolves once every queued tuning job has finished (benchmarks await it after a warm-up pass). */
export async function tunerIdle(): Promise<void> {
  let q: Promise<void>;
  do {
    q = state.queue;
    await q;
  } while (q !== state.queue);
}

/** Decisions made since the process started (or since clearTunerRecords). */
export function tunerRecords(): readonly TuneRecord[] {
  return state.records;
}

/** Forgets the in-memory choices and records (the store keeps its file); tests start from a clean tuner. */
export function resetTuner(): void {
  state.choices = null;
  state.pending.clear();
  state.records = [];
}

async function loadChoices(): Promise<Map<string, string>> {
  if (state.choices) return state.choices;
  try {
    state.choices = new Map(Object.entries(state.store ? await state.store.load() : {}));
  } catch (e) {
    // NOTE: an unreadable store is reported once; tuning goes on in memory and never overwrites that file.
    state.records.push({ key: 'store', chosen: '', ms: {}, error: e instanceof Error ? e.message : String(e) });
    state.store = null;
    state.choices = new Map();
  }
  return state.choices;
}

async function runJob(device: Device, key: string): Promise<void> {
  const make = state.pending.get(key);
  if (!make) return;
  const choices = await loadChoices();
  if (choices.has(key)) {
    state.pending.delete(key);
    return;
  }
  const job = make();
  const ms: Record<string, number> = {};
  try {
    for (const v of job.candidates) {
      if (!(await job.probe(v))) {
        ms[v] = Number.NaN;
        continue;
      }
      ms[v] = await timeVariant(device, () => job.run(v), state.budgetMs);
    }
  } finally {
    job.dispose();
    state.pending.delete(key);
  }
  let chosen = job.candidates[0]!;
  for (const v of job.candidates) if (ms[v]! < (ms[chosen] ?? Infinity)) chosen = v;
  choices.set(key, chosen);
  state.records.push({ key, chosen, ms });
  await state.store?.save(Object.fromEntries(choices));
}

/** Milliseconds per call: GPU timestamps where the adapter has them, else wall clock around a sync. */
async function timeVariant(device: Device, run: () => void, budgetMs: number): Promise<number> {
  run(); // NOTE: the first call compiles the pipeline; it is not timed
  await device.sync();
  let calls = 0;
  let total = 0;
  const start = performance.now();
  do {
    const t0 = performance.now();
    const gpuMs = await device.timeGpu(run);
    total += gpuMs ?? performance.now() - t0;
    calls++;
  } while (performance.now() - start < budgetMs && calls < 20);
  return total / calls;
}

const MAX_STORE_BYTES = 1 << 20;

/** Parses a stored choice file (JSON `{ version: 1, choices: { key: variant } }`); throws naming `source`. */
export function parseTuneChoices(bytes: Uint8Array, source: string): Record<string, string> {
  if (bytes.byteLength > MAX_STORE_BYTES) throw new Error(`Graft tuner: ${source} is ${bytes.byteLength} bytes, above the ${MAX_STORE_BYTES}-byte limit`);
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`Graft tuner: ${source} is not JSON (${(e as Error).message})`);
  }
  const choices = (doc as { version?: unknown; choices?: unknown } | null)?.choices;
  if ((doc as { version?: unknown } | null)?.version !== 1 || typeof choices !== 'object' || choices === null) {
    throw new Error(`Graft tuner: ${source} is not a version-1 tuning file ({"version": 1, "choices": {...}})`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(choices)) {
    if (typeof v !== 'string') throw new Error(`Graft tuner: ${source}: the choice for '${k}' is not a variant name`);
    out[k] = v;
  }
  return out;
}

/** The bytes of a choice file, as parseTuneChoices reads them. */
export function encodeTuneChoices(choices: Record<string, string>): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify({ version: 1, choices }, null, 1)}\n`);
}
