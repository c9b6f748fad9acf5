// Shared benchmark plumbing: timing, rows, the printed table and the --json file.

import type { Device } from '../src/index.js';

/** One result row; `--json` writes an array of these. */
export interface BenchRow {
  /** What was measured, with its shape, e.g. "matmul 1024x1024x1024". */
  name: string;
  metric: 'GFLOP/s' | 'GB/s' | 'ms' | 'images/s' | 'dispatches' | 'submits' | 'MB';
  /** Graft's figure. */
  graft: number;
  /** Peers' figures by key (tfjs-webgpu, tfjs-wasm, ort-webgpu, ort-cpu); a peer that failed is absent. */
  peers: Record<string, number>;
  /** Extra context printed beside the row (first-call ms, dispatch overhead, fraction of peak...). */
  note?: string;
}

/** What every suite receives. */
export interface BenchContext {
  device: Device;
  /** --quick: fewer sizes and iterations (used by the smoke test). */
  quick: boolean;
  /** Prints a line to stderr (progress, peer failures). */
  log: (msg: string) => void;
  /** `--name=value` arguments, by name (e.g. sizes=4096, batches=1,32): suites read the ones they know. */
  options: Record<string, string>;
}

/** A comma-separated list of integers from `--name=...` ('none': empty), or `fallback` when absent; throws naming a bad entry. */
export function intList(ctx: BenchContext, name: string, fallback: number[]): number[] {
  const v = ctx.options[name];
  if (v === undefined) return fallback;
  if (v === 'none') return [];
  return v.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: '${s}' is not a positive integer`);
    return n;
  });
}

export type Suite = (ctx: BenchContext) => Promise<BenchRow[]>;

export interface Timing {
  /** Median milliseconds per iteration (wall clock, GPU work awaited). */
  ms: number;
  /** Milliseconds of the first call (pipeline compilation included). */
  firstMs: number;
}

/**
 * Times `fn` (which records GPU work) with `sync` awaited after each batch of `inner` calls;
 * returns the median per-call time over `iters` batches.
 */
export async function timeAsync(fn: () => void, sync: () => Promise<void>, opts: { warmup?: number; iters?: number; inner?: number } = {}): Promise<Timing> {
  const t0 = performance.now();
  fn();
  await sync();
  const firstMs = performance.now() - t0;
  for (let i = 0; i < (opts.warmup ?? 1); i++) {
    fn();
    await sync();
  }
  const inner = opts.inner ?? 1;
  const samples: number[] = [];
  for (let i = 0; i < (opts.iters ?? 5); i++) {
    const s = performance.now();
    for (let k = 0; k < inner; k++) fn();
    await sync();
    samples.push((performance.now() - s) / inner);
  }
  samples.sort((a, b) => a - b);
  return { ms: samples[Math.floor(samples.length / 2)]!, firstMs };
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Prints rows as a Markdown table with one column per peer and Graft/peer ratios. */
export function printTable(title: string, rows: BenchRow[]): void {
  const peers = [...new Set(rows.flatMap((r) => Object.keys(r.peers)))];
  const head = ['benchmark', 'metric', 'graft', ...peers, ...peers.map((p) => `vs ${p}`), 'note'];
  const lines = rows.map((r) => {
    const lowerIsBetter = r.metric === 'ms' || r.metric === 'dispatches' || r.metric === 'submits' || r.metric === 'MB';
    const ratio = (p: string) => {
      const v = r.peers[p];
      if (v === undefined || v === 0 || r.graft === 0) return '-';
      return `${fmt(lowerIsBetter ? v / r.graft : r.graft / v)}x`;
    };
    return [r.name, r.metric, fmt(r.graft), ...peers.map((p) => (r.peers[p] === undefined ? '-' : fmt(r.peers[p]!))), ...peers.map(ratio), r.note ?? ''];
  });
  console.log(`\n### ${title}\n`);
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const l of lines) console.log(`| ${l.join(' | ')} |`);
}

/**
 * `--dawn-poll-ms=N`: makes setImmediate a timer of N ms for the whole process. dawn.node (the `webgpu` package)
 * re-arms setImmediate to process events while any WebGPU promise is pending, so every wait for the GPU spins one CPU
 * core; on lavapipe that core is taken from the "GPU" (one third of the CPU samples on a 2-core machine). Graft and
 * the peers share the process, so both wait the same way; bench-only, never in the library.
 */
export function throttleDawnPolling(ms: number): void {
  if (!(ms >= 0)) throw new Error(`--dawn-poll-ms: '${ms}' is not a number of milliseconds`);
  const g = globalThis as { setImmediate: unknown; clearImmediate: unknown };
  const clearOrig = clearImmediate;
  const timers = new WeakSet<object>();
  g.setImmediate = (fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    const t = setTimeout(fn, ms, ...args);
    timers.add(t);
    return t;
  };
  g.clearImmediate = (h: unknown) => {
    if (typeof h === 'object' && h !== null && timers.has(h)) clearTimeout(h as ReturnType<typeof setTimeout>);
    else clearOrig(h as ReturnType<typeof setImmediate>);
  };
}
