// The `graft` CLI in a child process: --help on every command, and user errors (missing folder, no images, wrong
// classes, wrong shapes, missing model file, bad flags) as one line on stderr with a non-zero exit and no stack
// trace; plus one successful predict on a tiny saved classifier.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { input, layers, setSeed } from '../src/nn/index.js';
import { model } from '../src/train/index.js';
import { saveClassifier } from '../tools/demo/class-names.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const ROOT = join(import.meta.dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function graft(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['tools/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? '/tmp' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Dawn prints adapter-limit warnings on stderr; the CLI's own lines start with `graft:`. */
const ownLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Warning: '));

function expectUserError(r: Result, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = ownLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^graft: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

const dir = mkdtempSync(join(tmpdir(), 'graft-cli-'));
const classifierPath = join(dir, 'tiny.safetensors');
const vectorModelPath = join(dir, 'vector.safetensors');
const imageA = join(dir, 'a.png');

beforeAll(async () => {
  setSeed(3);
  const x = input({ shape: [8, 8, 3] });
  const h = layers.globalAveragePooling2d().apply(layers.rescaling({ scale: 1 / 255, offset: 0 }).apply(x));
  const m = model({ inputs: x, outputs: layers.dense({ units: 2, activation: 'softmax' }).apply(h) });
  m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  await saveClassifier(m, classifierPath, ['cats', 'dogs']);
  m.dispose();
  const v = input({ shape: [4] });
  const mv = model({ inputs: v, outputs: layers.dense({ units: 2, activation: 'softmax' }).apply(v) });
  await mv.save(vectorModelPath);
  mv.dispose();
  await sharp({ create: { width: 12, height: 10, channels: 3, background: { r: 200, g: 40, b: 10 } } }).png().toFile(imageA);
  mkdirSync(join(dir, 'tree', 'cats'), { recursive: true });
  mkdirSync(join(dir, 'tree', 'dogs'), { recursive: true });
  mkdirSync(join(dir, 'wrong', 'cats'), { recursive: true });
  mkdirSync(join(dir, 'wrong', 'birds'), { recursive: true });
  await sharp(imageA).toFile(join(dir, 'wrong', 'cats', 'c.png'));
});

describe('graft --help', () => {
  it('lists the commands, and each command has its own help', async () => {
    const top = await graft('--help');
    expect(top.code).toBe(0);
    for (const c of ['train', 'predict', 'evaluate', 'inspect', 'run', 'bench']) expect(top.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const [train, predict, evaluate] = await Promise.all([graft('train', '--help'), graft('predict', '--help'), graft('evaluate', '--help')]);
    expect(train.code).toBe(0);
    for (const f of ['--data', '--weights', '--image-size', '--epochs', '--fine-tune-epochs', '--unfreeze', '--batch-size', '--lr', '--fine-tune-lr', '--out', '--resume', '--full']) {
      expect(train.stdout).toContain(f);
    }
    expect(predict.code).toBe(0);
    expect(predict.stdout).toMatch(/--model <file>/);
    expect(predict.stdout).toMatch(/--top <k>/);
    expect(evaluate.code).toBe(0);
    expect(evaluate.stdout).toMatch(/--data <folder>/);
  });
});

describe('graft train: user errors', () => {
  it('rejects a bad flag value, a missing data folder (leaving no run folder) and a resume with no run', async () => {
    const out = join(dir, 'runs');
    const [badSize, missing, noRun] = await Promise.all([
      graft('train', '--image-size', 'abc'),
      // NOTE: an existing (dummy) base file, so that the data check is reached without ../shared's weights.
      graft('train', '--data', join(dir, 'nope'), '--out', out, '--weights', join(dir, 'absent.onnx'), '--mobilenet', classifierPath),
      graft('train', '--resume', '--out', join(dir, 'no-runs')),
    ]);
    expectUserError(badSize, /--image-size must be an integer, got 'abc'/);
    expectUserError(missing, /data folder .*nope.train not found/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    expectUserError(noRun, /no run to resume/);
    expectUserError(await graft('train', '--unfreeze', '0'), /--unfreeze must be a positive integer/);
  });
});

describe('graft predict', () => {
  it('prints the top-k class names of a saved classifier', async () => {
    const r = await graft('predict', imageA, '--model', classifierPath, '--top', '2');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(imageA);
    expect(lines.slice(1).map((l) => l.trim().split(/\s+/)[1]).sort()).toEqual(['cats', 'dogs']);
    const probs = lines.slice(1).map((l) => Number(l.trim().split(/\s+/)[2]));
    expect(probs[0]! + probs[1]!).toBeCloseTo(1, 3);
    expect(probs[0]!).toBeGreaterThanOrEqual(probs[1]!);
  });

  it('user errors: missing image, missing model file, a model that is not an image classifier', async () => {
    const [noImage, noModel, notImage, badExt] = await Promise.all([
      graft('predict', join(dir, 'missing.jpg'), '--model', classifierPath),
      graft('predict', imageA, '--model', join(dir, 'missing.safetensors')),
      graft('predict', imageA, '--model', vectorModelPath),
      graft('predict', imageA, '--model', imageA),
    ]);
    expectUserError(noImage, /image not found: .*missing\.jpg/);
    expectUserError(noModel, /model file not found: .*missing\.safetensors/);
    expectUserError(notImage, /is not an image classifier: its input is \[\?, 4\]/);
    expectUserError(badExt, /unsupported model file .*a\.png/);
  });
});

describe('graft evaluate: user errors', () => {
  it('missing folder, a class tree with no images, folders that are not the model classes', async () => {
    const [noFolder, noImages, wrongClasses, noModel] = await Promise.all([
      graft('evaluate', '--model', classifierPath, '--data', join(dir, 'nope')),
      graft('evaluate', '--model', classifierPath, '--data', join(dir, 'tree')),
      graft('evaluate', '--model', classifierPath, '--data', join(dir, 'wrong')),
      graft('evaluate', '--model', join(dir, 'missing.onnx'), '--data', join(dir, 'tree')),
    ]);
    expectUserError(noFolder, /data folder not found: .*nope/);
    expectUserError(noImages, /no images found in .*tree/);
    expectUserError(wrongClasses, /class folder 'dogs' not found/);
    expectUserError(noModel, /model file not found: .*missing\.onnx/);
  });
});
