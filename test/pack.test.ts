// The npm package works where users get it: `npm pack` (which builds dist/ through prepack), `npm install` of the
// tarball into an empty folder, then `npx graft --help`, `npx graft inspect` and a two-step fit importing 'graft'.
// Takes about a minute here (build ~35 s, install ~15 s from the warm npm cache); it needs the registry or that cache.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, encodeModel } from '../src/io/onnx/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'graft-pack-'));
const app = join(work, 'app');

/** Runs a command; throws with its output when it fails, so the failure names the step. */
function run(cmd: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? '/tmp' } });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
    // NOTE: a failed download is the machine's problem, not the package's: say so instead of a bare exit code.
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENOTCACHED|ENETUNREACH|request to .* failed/.test(out)) {
      throw new Error(`ENVIRONMENT, not a package defect: '${cmd} ${args.join(' ')}' could not reach the npm registry and the npm cache lacks a dependency:\n${out}`);
    }
    throw new Error(`'${cmd} ${args.join(' ')}' in ${cwd} exited ${r.status ?? r.signal}:\n${out}`);
  }
  return r;
}

beforeAll(() => {
  run('npm', ['pack', '--pack-destination', work], ROOT, 240_000);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${work}`);
  run('mkdir', [app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'graft-pack-check', private: true, type: 'module' }));
  run('npm', ['install', join(work, tarball), '--prefer-offline', '--no-audit', '--no-fund'], app, 240_000);
}, 480_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package, installed into an empty folder', () => {
  it('`npx graft --help` lists the commands', () => {
    const r = run('npx', ['--no-install', 'graft', '--help'], app);
    for (const c of ['inspect', 'run', 'train', 'predict', 'evaluate']) expect(r.stdout).toContain(`  ${c} `);
  });

  it('`npx graft inspect` reads an ONNX file (the shaders and the compiled io are in the package)', () => {
    const g = new GraphBuilder('tiny');
    g.input('x', 'float32', ['N', 3]);
    g.node('Relu', ['x'], ['y'], {}, 'relu');
    g.output('y', 'float32', ['N', 3]);
    writeFileSync(join(app, 'tiny.onnx'), encodeModel(g, { opsets: [{ domain: '', version: 13 }] }));
    const r = run('npx', ['--no-install', 'graft', 'inspect', 'tiny.onnx', '--json'], app);
    const report = JSON.parse(r.stdout) as { inputs: { name: string }[]; unsupported: unknown[] };
    expect(report.inputs.map((i) => i.name)).toEqual(['x']);
    expect(report.unsupported).toEqual([]);
  });

  it("a script importing 'graft' fits a dense model for two steps on the GPU", () => {
    writeFileSync(join(app, 'fit.mjs'), `
import * as graft from 'graft';
await graft.init();
const m = graft.sequential([graft.layers.dense({ units: 2, inputShape: [3] })]);
m.compile({ optimizer: graft.optimizers.sgd({ learningRate: 0.1 }), loss: 'meanSquaredError' });
const x = graft.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1], [4, 3]);
const y = graft.tensor([1, 0, 0, 1, 1, 1, 0, 0], [4, 2]);
let steps = 0;
const h = await m.fit(x, y, { epochs: 1, batchSize: 2, verbose: 0, shuffle: false, callbacks: [{ onBatchEnd: () => void steps++ }] });
console.log(JSON.stringify({ steps, loss: h.history.loss }));
`);
    const r = run('node', ['fit.mjs'], app);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { steps: number; loss: number[] };
    expect(out.steps).toBe(2);
    expect(out.loss).toHaveLength(1);
    expect(Number.isFinite(out.loss[0])).toBe(true);
  });
});
