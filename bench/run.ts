// `npm run bench -- <suite...> [--json FILE] [--quick]`: runs kernel and model benchmarks with peers side by side.

import '../src/node/index.js'; // NOTE: first, so that Node's platform (Dawn, files, sharp) is installed before any use
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { globals } from 'webgpu';
import { init } from '../src/index.js';
import { instrumentWebGpu, type WebGpuClasses } from '../src/gpu/counters.js';
import { tunerIdle, tunerRecords } from '../src/gpu/tuner.js';
import { configureTunerFromEnv } from '../src/node/tune-cache.js';
import { printTable, throttleDawnPolling, type BenchRow, type Suite } from './harness.js';

// NOTE: suites (one file each) load lazily so that one suite's peers (tfjs, onnxruntime) are not imported by another.
// The conv suite also runs the batchnorm and pooling rows (bench/norm-pool.ts), as the convolution issue asks.
const suiteFiles: Record<string, string[]> = {
  matmul: ['matmul'],
  elementwise: ['elementwise'],
  conv: ['conv', 'norm-pool'],
  model: ['model'],
  browser: ['browser'],
  variants: ['variants'],
  mixed: ['mixed-precision'],
  norm: ['norm-pool', 'optimizer'],
  fusion: ['fusion'],
};
const suites: Record<string, () => Promise<Suite>> = Object.fromEntries(
  Object.entries(suiteFiles).map(([name, files]) => [
    name,
    async (): Promise<Suite> => {
      const parts = await Promise.all(files.map(async (f) => ((await import(`./${f}.js`)) as { default: Suite }).default));
      return async (ctx) => {
        const rows = [];
        for (const part of parts) rows.push(...(await part(ctx))); // NOTE: one at a time, or timings interfere
        return rows;
      };
    },
  ]),
);

/** Runs the benchmark suites named in `args` (plus --json FILE, --quick, --name=value options for the suites). */
export async function runBench(args: string[]): Promise<void> {
  const jsonAt = args.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined;
  if (jsonAt >= 0 && !jsonFile) throw new Error('--json needs a file name');
  const quick = args.includes('--quick');
  const names = args.filter((a, i) => !a.startsWith('--') && (jsonAt < 0 || i !== jsonAt + 1));
  const options = Object.fromEntries(args.filter((a) => /^--[a-z0-9-]+=/.test(a)).map((a) => [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  if (options['dawn-poll-ms'] !== undefined) throttleDawnPolling(Number(options['dawn-poll-ms']));
  const chosen = names.length > 0 ? names : ['matmul', 'elementwise'];
  for (const n of chosen) if (!suites[n]) throw new Error(`unknown suite '${n}'; known: ${Object.keys(suites).join(', ')}`);
  // NOTE: before any device exists, so that every buffer Graft and the peers create is counted (src/gpu/counters.ts).
  instrumentWebGpu(globals as unknown as WebGpuClasses);
  const tune = configureTunerFromEnv();
  const device = await init();
  console.log(`tuning: ${tune} (GRAFT_TUNE)`);
  console.log(`adapter: ${device.adapterInfo.vendor} ${device.adapterInfo.architecture} ${device.adapterInfo.description}`.trim());
  const all: BenchRow[] = [];
  for (const n of chosen) {
    const suite = await suites[n]!();
    const rows = await suite({ device, quick, options, log: (m) => console.error(`[${n}] ${m}`) });
    printTable(n, rows);
    all.push(...rows);
  }
  await tunerIdle();
  for (const r of tunerRecords()) {
    const ms = Object.entries(r.ms).map(([v, t]) => `${v} ${Number.isNaN(t) ? 'failed probe' : `${t.toFixed(3)} ms`}`);
    console.log(`tuned ${r.key}: ${r.chosen}${r.error ? ` (error: ${r.error})` : ''} [${ms.join(', ')}]`);
  }
  if (jsonFile) {
    mkdirSync(dirname(jsonFile), { recursive: true });
    writeFileSync(jsonFile, JSON.stringify(all, null, 2));
    console.log(`\nwrote ${all.length} rows to ${jsonFile}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runBench(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error ? (process.env.GRAFT_BENCH_STACK ? e.stack : e.message) : e);
      process.exit(1);
    },
  );
}
