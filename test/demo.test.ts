// A shortened demo (2 epochs of feature extraction + 1 of fine-tuning, 2 steps, 32x32 images, a generated 3-class
// dataset): run as `tools/demo.ts` in a child process that signals itself at a point the test names
// (GRAFT_DEMO_SIGNAL_AT), then resumed. Ctrl-C or a kill at any point of an epoch end leaves every checkpoint matched
// by TensorBoard and history.json, and a resume leaves each epoch once in the logs. Checks the checkpoints, the
// resumed epoch numbers (3 after 2) in the logs and the history, the TensorBoard records, the class names in the
// final model file and the plot. Needs the pretrained
// MobileNetV2 in ../shared (skipped, with the reason printed, when it is absent).

import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
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
import { useDevice } from './helpers/gpu.js';
import { sharedPath, sharedSkipReason } from './helpers/shared.js';
import { checkpointEpochs, expectLogsCoverCheckpoints, historyEpochs, loggedEpochs, runDemo } from './helpers/demo-run.js';
import { CLASSES, makeDataset } from './helpers/demo-data.js';

useDevice();

const ROOT = join(import.meta.dirname, '..');
const WEIGHTS = join(ROOT, DEMO_DEFAULTS.mobileNetWeights);
// NOTE: the demo child reads ../shared itself; GRAFT_SHARED_DIR pointing elsewhere (e.g. /nonexistent) skips it.
const present = sharedSkipReason('demo.test', sharedPath('weights', 'mobilenet_v2_1.0_224.onnx'), WEIGHTS) === null;

describe.skipIf(!present)('the transfer-learning demo, shortened', () => {
  it('is interrupted after feature extraction, resumes at epoch 3 (fine-tuning) and writes the whole run folder', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'graft-demo-'));
    const data = join(tmp, 'data');
    const out = join(tmp, 'runs');
    await makeDataset(data);
    const args = ['--data', data, '--out', out, '--image-size', '32', '--batch-size', '4', '--steps', '2', '--epochs', '2', '--fine-tune-epochs', '1', '--verbose', '2'];
    const first = await runDemo(args, out, 'after-epoch-end:2');
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
    expect(existsSync(join(runDir, 'backup'))).toBe(false);

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

  const shortArgs = (data: string, out: string) => ['--data', data, '--out', out, '--image-size', '32', '--batch-size', '4', '--steps', '1', '--epochs', '2', '--fine-tune-epochs', '1', '--verbose', '0'];
  let dataDir = '';
  const dataset = async () => {
    if (!dataDir) {
      dataDir = join(mkdtempSync(join(tmpdir(), 'graft-demo-')), 'data');
      await makeDataset(dataDir);
    }
    return dataDir;
  };

  it('finishes an epoch end that has begun on Ctrl-C (between the TensorBoard write and the checkpoint), then exits', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'graft-demo-')), 'runs');
    const run = await runDemo(shortArgs(await dataset(), out), out, 'before-checkpoint:2');
    expect(run.code, run.stdout).toBe(130);
    expect(run.stdout).toContain('Interrupted at the end of epoch 2: finishing its logs and checkpoint first (Ctrl-C again to exit now).');
    expect(run.stdout).toContain(`The last complete checkpoint is ${join(run.runDir, 'checkpoints', 'epoch-02.safetensors')} (epoch 2).`);
    expect(checkpointEpochs(run.runDir)).toEqual([1, 2]);
    expect(loggedEpochs(run.runDir)).toEqual([0, 1]);
    expect(historyEpochs(run.runDir)).toEqual([0, 1]);
    await expectLogsCoverCheckpoints(run.runDir);
  }, 60_000);

  it('a second Ctrl-C exits at once and says the checkpoint was not written; the logs still cover every checkpoint', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'graft-demo-')), 'runs');
    const run = await runDemo(shortArgs(await dataset(), out), out, 'before-checkpoint:2:SIGINT2');
    expect(run.code, run.stdout).toBe(130);
    expect(run.stdout).toContain('Interrupted again: exiting before the end of epoch 2 was finished (its checkpoint was not written; a resume redoes epoch 2 and drops its partial logs).');
    expect(checkpointEpochs(run.runDir)).toEqual([1]);
    await expectLogsCoverCheckpoints(run.runDir);
  }, 60_000);

  it('a kill -9 right after a checkpoint leaves logs that hold its epoch', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'graft-demo-')), 'runs');
    const run = await runDemo(shortArgs(await dataset(), out), out, 'after-checkpoint:2:SIGKILL');
    expect(run.signal, run.stdout).toBe('SIGKILL');
    expect(checkpointEpochs(run.runDir)).toEqual([1, 2]);
    await expectLogsCoverCheckpoints(run.runDir);
  }, 60_000);

  it('a kill -9 after the logs but before the checkpoint: the resume redoes the epoch and logs it once', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'graft-demo-')), 'runs');
    const run = await runDemo(shortArgs(await dataset(), out), out, 'before-checkpoint:2:SIGKILL');
    expect(run.signal, run.stdout).toBe('SIGKILL');
    expect(checkpointEpochs(run.runDir)).toEqual([1]);
    expect(loggedEpochs(run.runDir)).toEqual([0, 1]);
    await expectLogsCoverCheckpoints(run.runDir);
    const resumed = await runDemo([...shortArgs(await dataset(), out), '--resume', run.runDir], out);
    expect(resumed.code, resumed.stdout).toBe(0);
    expect(checkpointEpochs(run.runDir)).toEqual([1, 2, 3]);
    expect(loggedEpochs(run.runDir)).toEqual([0, 1, 2]);
    expect(historyEpochs(run.runDir)).toEqual([0, 1, 2]);
    await expectLogsCoverCheckpoints(run.runDir);
  }, 90_000);
  it('--backup-steps 1: a kill -9 mid-epoch resumes from the backup, in feature extraction and in fine-tuning', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'graft-demo-')), 'runs');
    const args = [...shortArgs(await dataset(), out), '--steps', '2', '--backup-steps', '1'];
    const run = await runDemo(args, out, 'after-batch:3:SIGKILL');
    expect(run.signal, run.stdout).toBe('SIGKILL');
    expect(checkpointEpochs(run.runDir)).toEqual([1]);
    // NOTE: this process trains the last batch of epoch 2, then the first of epoch 3 (fine-tuning), and is killed.
    const second = await runDemo([...args, '--resume', run.runDir], out, 'after-batch:2:SIGKILL');
    expect(second.signal, second.stdout).toBe('SIGKILL');
    expect(second.stdout).toContain(`Resuming ${run.runDir} from the backup ${join(run.runDir, 'backup', 'backup.safetensors')}: 1 epoch done and 1 batch of epoch 2/3 (feature extraction).`);
    await expectLogsCoverCheckpoints(run.runDir);
    const third = await runDemo([...args, '--resume', run.runDir], out);
    expect(third.code, third.stdout).toBe(0);
    expect(third.stdout).toContain('2 epochs done and 1 batch of epoch 3/3 (fine-tuning).');
    expect(third.stdout).toMatch(/Fine-tuning: unfroze block_16_expand_BN/);
    expect(checkpointEpochs(run.runDir)).toEqual([1, 2, 3]);
    expect(loggedEpochs(run.runDir)).toEqual([0, 1, 2]);
    expect(historyEpochs(run.runDir)).toEqual([0, 1, 2]);
    expect(existsSync(join(run.runDir, 'backup'))).toBe(false);
  }, 120_000);
});
