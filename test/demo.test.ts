// A shortened demo (2 epochs of feature extraction + 1 of fine-tuning, 2 steps, 32x32 images, a generated 3-class
// dataset): run as `tools/demo.ts` in a child process and interrupted with SIGINT after the phase-1 checkpoint,
// then resumed in-process. Checks the checkpoints, the resumed epoch numbers (3 after 2) in the logs and the
// history, the TensorBoard records, the class names in the final model file and the plot. Needs the pretrained
// MobileNetV2 in ../shared (skipped, with the reason printed, when it is absent).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { scalarsOf } from '../src/io/tensorboard/index.js';
import { readEvents } from '../src/node/tensorboard-files.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { DEMO_DEFAULTS } from '../tools/demo/options.js';
import { runTransfer } from '../tools/demo/workflow.js';
import type { RunHistory } from '../tools/demo/run-dir.js';
import { rng } from '../src/tensor/tensor.js';
import { useDevice } from './helpers/gpu.js';
import { sharedPath, sharedSkipReason } from './helpers/shared.js';

useDevice();

const ROOT = join(import.meta.dirname, '..');
const WEIGHTS = join(ROOT, DEMO_DEFAULTS.mobileNetWeights);
// NOTE: the demo child reads ../shared itself; GRAFT_SHARED_DIR pointing elsewhere (e.g. /nonexistent) skips it.
const present = sharedSkipReason('demo.test', sharedPath('weights', 'mobilenet_v2_1.0_224.onnx'), WEIGHTS) === null;

const CLASSES = ['circles', 'stripes', 'plain'];

/** train/ and test/ class folders of small generated PNGs whose class sets the pattern. */
async function makeDataset(root: string): Promise<void> {
  const r = rng(7);
  for (const [split, n] of [['train', 6], ['test', 4]] as const) {
    for (const [c, name] of CLASSES.entries()) {
      mkdirSync(join(root, split, name), { recursive: true });
      for (let i = 0; i < n; i++) {
        const size = 40;
        const px = Buffer.alloc(size * size * 3);
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const on = c === 0 ? (x - 20) ** 2 + (y - 20) ** 2 < 150 : c === 1 ? x % 8 < 4 : false;
            for (let k = 0; k < 3; k++) px[(y * size + x) * 3 + k] = Math.max(0, Math.min(255, (on ? 220 : 60) + 40 * (r() - 0.5)));
          }
        }
        await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(join(root, split, name, `${i}.png`));
      }
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the demo in a child process and sends SIGINT once `stopWhen` exists; resolves with its exit and output. */
function runDemoUntil(args: string[], outDir: string, stopWhen: (runDir: string) => string): Promise<{ code: number | null; signal: string | null; stdout: string; runDir: string }> {
  return new Promise((resolve, reject) => {
    // NOTE: tsx's CLI relays SIGINT and SIGKILLs a child that does not answer within 60 ms (a busy GPU step),
    // so the demo runs in one process with tsx as a loader, as `npm run demo` does.
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/demo.ts', ...args], {
      cwd: ROOT, env: { ...process.env, XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? '/tmp' },
    });
    let stdout = '';
    let runDir = '';
    let done = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', () => {});
    child.on('error', reject);
    child.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal, stdout, runDir });
    });
    void (async () => {
      while (!done) {
        const runs = existsSync(outDir) ? readdirSync(outDir) : [];
        if (runs.length === 1) {
          runDir = join(outDir, runs[0]!);
          if (existsSync(stopWhen(runDir))) {
            child.kill('SIGINT');
            return;
          }
        }
        await sleep(20);
      }
    })();
  });
}

describe.skipIf(!present)('the transfer-learning demo, shortened', () => {
  it('is interrupted after feature extraction, resumes at epoch 3 (fine-tuning) and writes the whole run folder', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'graft-demo-'));
    const data = join(tmp, 'data');
    const out = join(tmp, 'runs');
    await makeDataset(data);
    const args = ['--data', data, '--out', out, '--image-size', '32', '--batch-size', '4', '--steps', '2', '--epochs', '2', '--fine-tune-epochs', '1', '--verbose', '2'];
    const first = await runDemoUntil(args, out, (dir) => join(dir, 'checkpoints', 'epoch-02.safetensors'));
    const runDir = first.runDir;
    expect(first.code, first.stdout).toBe(130);
    expect(first.stdout).toMatch(/MobileNetV2 from .*mobilenet_v2_1\.0_224\.onnx \(weights\/efficientnet-b0\.onnx is absent/);
    expect(first.stdout).toMatch(/Settings: 32x32 px, batch 4, 2 steps \(8 of 18 images\) per epoch/);
    expect(first.stdout).toMatch(/epoch 2\/3 \(feature extraction\)/);
    expect(first.stdout).toContain(`Interrupted. The last complete checkpoint is ${join(runDir, 'checkpoints', 'epoch-02.safetensors')} (epoch 2).`);
    expect(first.stdout).toContain(`Continue with: npm run demo -- --resume ${runDir}`);
    expect(readdirSync(join(runDir, 'checkpoints')).filter((f) => f.endsWith('.safetensors')).sort()).toEqual(['epoch-01.safetensors', 'epoch-02.safetensors']);
    expect(existsSync(join(runDir, 'model.safetensors'))).toBe(false);

    const lines: string[] = [];
    const result = await runTransfer(DEMO_DEFAULTS, { resumeDir: runDir, verbose: 0, handleSigint: false, log: (l) => lines.push(l) });
    const log = lines.join('\n');
    expect(log).toMatch(/Resuming .* from .*epoch-02\.safetensors: 2 epochs done, continuing with epoch 3\/3 \(fine-tuning\)/);
    expect(log).toMatch(/Fine-tuning: unfroze block_16_expand_BN, .*Conv_1, Conv_1_bn, out_relu; 7\d\d,\d{3} trainable parameters/);
    expect(log).toMatch(/epoch 3\/3 \(fine-tuning\): [\d.]+ s, loss [\d.]+, accuracy [\d.]+, val_loss [\d.]+, val_accuracy [\d.]+/);
    expect(log).not.toMatch(/epoch [12]\/3/);

    expect(readdirSync(join(runDir, 'checkpoints')).filter((f) => f.endsWith('.safetensors')).sort()).toEqual(['epoch-01.safetensors', 'epoch-02.safetensors', 'epoch-03.safetensors']);
    const ck3 = await readSafetensors(join(runDir, 'checkpoints', 'epoch-03.safetensors'));
    expect(JSON.parse(ck3.metadata['training']!).epochsDone).toBe(3);
    expect(JSON.parse(ck3.metadata['compile']!).optimizer.learningRate).toBeCloseTo(1e-4, 10);

    const history = JSON.parse(readFileSync(join(runDir, 'history.json'), 'utf8')) as RunHistory;
    expect(history.epoch).toEqual([0, 1, 2]);
    expect(result.history.epoch).toEqual([0, 1, 2]);
    expect(history.fineTuneAt).toBe(2);
    expect(history.history['loss']).toHaveLength(3);
    expect(history.history['val_accuracy']!.slice(0, 2)).toEqual([null, null]);
    expect(history.test!['accuracy']).toBeCloseTo(result.test.accuracy!, 6);

    const final = await readSafetensors(join(runDir, 'model.safetensors'));
    expect(JSON.parse(final.metadata['classNames']!)).toEqual([...CLASSES].sort());
    expect(final.metadata['format']).toBe('graft.model.v1');

    const scalars = (kind: string) => readdirSync(join(runDir, 'logs', kind)).flatMap((f) => scalarsOf(readEvents(join(runDir, 'logs', kind, f))));
    const trainLoss = scalars('train').filter((s) => s.tag === 'epoch_loss');
    expect(trainLoss.map((s) => s.step).sort()).toEqual([0, 1, 2]);
    trainLoss.forEach((s) => expect(s.value).toBeCloseTo(history.history['loss']![s.step]!, 5));
    const valAcc = scalars('validation').filter((s) => s.tag === 'epoch_accuracy');
    expect(valAcc.map((s) => s.step)).toEqual([2]);
    expect(valAcc[0]!.value).toBeCloseTo(history.history['val_accuracy']![2]!, 5);

    const svg = readFileSync(join(runDir, 'history.svg'), 'utf8');
    expect(svg).toMatch(/^<\?xml[^>]*>\s*<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg.trimEnd()).toMatch(/<\/svg>$/);
    expect(svg.match(/class="fine-tune-start"/g)).toHaveLength(2);
    expect(svg).toContain('Start Fine Tuning');
    expect(svg).toMatch(/data-key="val_accuracy"/);
    // NOTE: librsvg (through sharp) parses it: a malformed document would throw here.
    const meta = await sharp(Buffer.from(svg)).metadata();
    expect(meta.format).toBe('svg');
    expect(meta.width).toBe(720);
  }, 150_000);
});
