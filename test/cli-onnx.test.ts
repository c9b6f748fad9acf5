// `graft inspect` and `graft run` as a user runs them: real files in, one clear line and a non-zero exit on bad ones.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { makeEfficientNetOnnx } from '../tools/fixtures/efficientnet-fixture.js';
import { parseNpy, encodeNpy } from '../src/io/npy.js';
import { randomValues } from './helpers/check.js';

const dir = mkdtempSync(join(tmpdir(), 'graft-cli-onnx-'));
const fixture = join(dir, 'b0-torchvision.onnx');
writeFileSync(fixture, makeEfficientNetOnnx({ style: 'torchvision', size: 32, classes: 10, seed: 3 }));

function graft(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(join('node_modules', '.bin', 'tsx'), ['tools/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
  // NOTE: Dawn prints two limit warnings on every device creation; they are not Graft's output.
  const stderr = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: max')).join('\n');
  return { code: r.status ?? -1, stdout: r.stdout, stderr };
}

describe('graft inspect', () => {
  it('reports the fixture interface, op counts and parameters', () => {
    const r = graft('inspect', fixture);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inputs\s+input: float32 \[N,3,32,32\]/);
    expect(r.stdout).toMatch(/ops\s+.*Conv 81/);
    expect(r.stdout).toMatch(/unsupported none/);
  });

  it('exits 1 with one line and no stack trace on a corrupt file', () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, Buffer.from('this is not a protobuf at all, just text'));
    const r = graft('inspect', bad);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('bad.onnx');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 naming a missing file', () => {
    const r = graft('inspect', join(dir, 'missing.onnx'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('missing.onnx');
  });
});

describe('graft run', () => {
  it('writes the first output as .npy, matching onnxruntime', async () => {
    const x = randomValues(2 * 3 * 32 * 32, 9, -2, 2);
    const xin = join(dir, 'x.npy');
    const yout = join(dir, 'y.npy');
    writeFileSync(xin, encodeNpy({ dtype: 'float32', shape: [2, 3, 32, 32], data: Float32Array.from(x) }));
    const r = graft('run', fixture, '--input', xin, '--output', yout);
    expect(r.code, r.stderr).toBe(0);
    const y = parseNpy(new Uint8Array(readFileSync(yout)));
    expect(y.shape).toEqual([2, 10]);
    const session = await ort.InferenceSession.create(fixture);
    const want = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [2, 3, 32, 32]) })).logits!.data as Float32Array;
    const scale = Math.max(...Array.from(want, Math.abs));
    const got = y.data as Float32Array;
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-4 * scale);
  });

  it('exits non-zero with one line when the input shape does not fit the model', () => {
    const xin = join(dir, 'wrong.npy');
    writeFileSync(xin, encodeNpy({ dtype: 'float32', shape: [1, 5, 32, 32], data: new Float32Array(5 * 32 * 32) }));
    const r = graft('run', fixture, '--input', xin, '--output', join(dir, 'never.npy'));
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits non-zero when a required option is missing', () => {
    const r = graft('run', fixture);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--input/);
  });
});
