// The training worker: all GPU work (device, base model, datasets, fit, predict, export) runs here, so that the
// page's main thread only draws. Messages are typed in messages.ts.

import * as graft from '../../src/browser/index.js';
import { explain, isQuotaError, PageError } from './errors.js';
import type { BaseSource, FromWorker, ImageEntry, ToWorker, TopClass, TrainSettings } from './messages.js';
import { clearRun, createRun, describeRun, listCheckpoints, loadImages, loadRecord, pruneCheckpoints, saveRecord, RUN_DIR, type RunRecord } from './run-store.js';
import { buildModel, makeDatasets, runPhases } from './trainer.js';

interface WorkerScope {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;
const send = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

/** The safetensors metadata key of the class names (as tools/demo/class-names.ts writes it). */
const CLASS_NAMES_KEY = 'classNames';

const state: {
  baseBytes: Uint8Array | null;
  baseName: string;
  model: graft.Model | null;
  /** Class names of the model's outputs (from the run, or from a loaded model file's metadata). */
  classNames: string[];
  run: RunRecord | null;
  training: boolean;
  deviceLost: boolean;
} = { baseBytes: null, baseName: '', model: null, classNames: [], run: null, training: false, deviceLost: false };

function fail(e: unknown, what: string): void {
  const { kind, message } = explain(e, what);
  console.error(e);
  send({ type: 'error', kind, message });
}

async function init(): Promise<void> {
  if (!(navigator as { gpu?: GPU }).gpu) throw new PageError('no-webgpu', 'navigator.gpu is missing in the worker');
  let device: graft.Device;
  try {
    device = await graft.init();
  } catch (e) {
    throw new PageError(e instanceof graft.NoAdapterError ? 'no-adapter' : 'other', (e as Error).message);
  }
  void device.gpu.lost.then((info) => {
    state.deviceLost = true;
    if (state.model) state.model.stopTraining = true;
    void describeRun().then((stored) => send({
      type: 'error', kind: 'device-lost',
      message: `The GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}). Nothing stored is lost: ` +
        (stored?.checkpoint ? `the checkpoint of epoch ${stored.checkpointEpoch} is in this browser's storage. ` : '') +
        'Reload the page, then press Resume (or Train). If it happens again, close other GPU-heavy tabs or restart the browser.',
    }));
  });
  const info = device.adapterInfo;
  send({ type: 'ready', adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' / ') || 'unknown adapter', stored: await describeRun() });
}

async function readSource(source: BaseSource): Promise<Uint8Array> {
  if (source.kind === 'file') return new Uint8Array(await source.file.arrayBuffer());
  const res = await fetch(source.url);
  if (!res.ok) throw new Error(`could not download ${source.url}: HTTP ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function loadBase(source: BaseSource, size: number): Promise<void> {
  const bytes = await readSource(source);
  let base: graft.Model;
  try {
    base = graft.applications.mobileNetV2({ weights: bytes, includeTop: false, inputShape: [size, size, 3] });
  } catch (e) {
    throw new PageError('bad-onnx', `Graft cannot import ${source.name}: ${(e as Error).message}\n` +
      `The page needs a MobileNetV2 ONNX file (like mobilenet_v2_1.0_224.onnx).${state.baseBytes ? ` The previous base (${state.baseName}) is kept.` : ''}`);
  }
  const params = base.countParams();
  const layers = base.layers.length;
  base.dispose();
  state.baseBytes = bytes;
  state.baseName = source.name;
  send({ type: 'base-loaded', name: source.name, layers, params });
}

/** Keeps the images Chromium can decode; names the others in one message. */
async function checkImages(images: ImageEntry[]): Promise<ImageEntry[]> {
  const good: ImageEntry[] = [];
  const bad: string[] = [];
  for (const img of images) {
    try {
      (await createImageBitmap(img.blob)).close();
      good.push(img);
    } catch {
      bad.push(`${img.name} (class '${img.label}')`);
    }
  }
  if (bad.length > 0) {
    send({ type: 'error', kind: 'not-an-image', message: `Left out ${bad.length} file${bad.length === 1 ? '' : 's'} that the browser cannot decode as an image: ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''}. Graft reads JPEG, PNG, WebP and GIF.` });
  }
  return good;
}

function classesOf(images: { label: string }[]): string[] {
  return [...new Set(images.map((i) => i.label))].sort();
}

async function train(settings: TrainSettings, images: ImageEntry[]): Promise<void> {
  if (!state.baseBytes) throw new Error('Training needs the pretrained base; it has not loaded yet');
  const good = await checkImages(images);
  const classNames = classesOf(good);
  if (classNames.length < 2) throw new Error(`Training needs at least 2 classes (folders) of images; got ${classNames.length}`);
  const built = buildModel(state.baseBytes, settings, classNames.length);
  state.model?.dispose();
  state.model = built.model;
  try {
    state.run = await createRun({ settings, classNames, baseName: built.baseName }, good);
  } catch (e) {
    throw isQuotaError(e) ? e : new Error(`Storing the images in the browser failed: ${(e as Error).message}`);
  }
  send({ type: 'log', line: `Stored ${good.length} images of ${classNames.length} classes in this browser (OPFS ${RUN_DIR}/).` });
  await fitRun(state.run, await loadImages(state.run));
}

async function resume(featureEpochs: number, fineTuneEpochs: number): Promise<void> {
  const run = await loadRecord();
  const ckpt = (await listCheckpoints())[0];
  if (!run) throw new Error('There is no stored run to resume');
  run.settings = { ...run.settings, featureEpochs, fineTuneEpochs };
  state.model?.dispose();
  state.model = null;
  if (ckpt) {
    state.model = await graft.loadModel(ckpt.path);
    send({ type: 'log', line: `Loaded ${ckpt.path} (${state.model.epochsDone} epochs done).` });
  } else {
    if (!state.baseBytes) throw new Error('Resuming without a checkpoint needs the pretrained base; it has not loaded yet');
    state.model = buildModel(state.baseBytes, run.settings, run.classNames.length).model;
  }
  // NOTE: run.json is rewritten only after the next checkpoint, so that a full quota fails at the checkpoint.
  run.history = run.history.slice(0, state.model.epochsDone);
  state.run = run;
  await fitRun(run, await loadImages(run));
}

async function fitRun(run: RunRecord, images: { blob: Blob; label: string }[]): Promise<void> {
  const model = state.model!;
  state.classNames = run.classNames;
  const s = run.settings;
  const total = s.featureEpochs + s.fineTuneEpochs;
  const data = await makeDatasets(images, s, run.classNames);
  send({ type: 'log', line: `${data.train.filePaths.length} training and ${data.validation?.filePaths.length ?? 0} validation images, ${s.imageSize}x${s.imageSize} px, batch ${s.batchSize}.` });
  send({ type: 'training-started', classNames: run.classNames, totalEpochs: total, fineTuneAt: s.featureEpochs, history: run.history });
  let stopped = false;
  try {
    await runPhases(model, run.baseName, data, s, {
      progress: (text) => send({ type: 'progress', line: text }),
      log: (line) => send({ type: 'log', line }),
      epochEnd: async (epoch, logs) => {
        run.history = [...run.history.slice(0, epoch), logs];
        await saveRecord(run);
        await pruneCheckpoints();
        send({ type: 'epoch', epoch, phase: epoch < s.featureEpochs ? 'feature extraction' : 'fine-tuning', logs, totalEpochs: total });
      },
    });
    stopped = model.epochsDone < total;
  } catch (e) {
    stopped = true;
    const epoch = model.epochsDone;
    fail(e, isQuotaError(e) ? `saving the checkpoint of epoch ${epoch}` : `training (epoch ${epoch + 1})`);
  } finally {
    send({ type: 'training-ended', epochsDone: model.epochsDone, stopped, stored: await describeRun().catch(() => null) });
  }
}

async function top3(image: Blob, name: string): Promise<void> {
  const model = state.model;
  if (!model) throw new Error('Train a model (or load a checkpoint) before predicting');
  try {
    (await createImageBitmap(image)).close();
  } catch {
    throw new PageError('not-an-image', `${name} is not an image the browser can decode (JPEG, PNG, WebP or GIF).`);
  }
  const size = model.inputs[0]!.shape[1]!;
  const classNames = state.classNames;
  const pixels = await graft.data.decodeImage(image, size, size);
  const x = graft.tensor(Float32Array.from(pixels), [1, size, size, 3]);
  const y = await model.predict(x);
  const probabilities = Array.from(await y.data());
  x.dispose();
  y.dispose();
  const top: TopClass[] = probabilities.map((p, i) => ({ className: classNames[i] ?? `class ${i}`, probability: p }))
    .sort((a, b) => b.probability - a.probability).slice(0, 3);
  send({ type: 'prediction', name, top, probabilities, pixels, size });
}

async function exportModel(format: 'safetensors' | 'onnx'): Promise<void> {
  const model = state.model;
  if (!model) throw new Error('There is no trained model to download yet');
  const stem = `graft-classifier-epoch-${String(model.epochsDone).padStart(2, '0')}`;
  if (format === 'onnx') {
    const bytes = await graft.io.exportOnnxBytes(model);
    return send({ type: 'download', fileName: `${stem}.onnx`, bytes, mime: 'application/octet-stream' }, [bytes.buffer]);
  }
  const file = graft.io.decodeSafetensors(await model.saveBytes(), 'model');
  const entries = [...file.tensors].map(([name, t]) => ({ name, shape: t.shape, dtype: t.dtype, data: t.data }));
  // NOTE: the class names travel inside the file, as the demo's model.safetensors has them.
  const bytes = graft.io.encodeSafetensors(entries, { ...file.metadata, [CLASS_NAMES_KEY]: JSON.stringify(state.classNames) });
  send({ type: 'download', fileName: `${stem}.safetensors`, bytes, mime: 'application/octet-stream' }, [bytes.buffer]);
}

async function loadCheckpointFile(file: Blob, name: string): Promise<void> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!state.model) {
    const model = await graft.loadModel(bytes).catch((e: unknown) => {
      throw new PageError('checkpoint-mismatch', `${name} is not a Graft model file: ${(e as Error).message}`);
    });
    const meta = graft.io.decodeSafetensors(bytes, name).metadata[CLASS_NAMES_KEY];
    state.model = model;
    state.classNames = meta ? (JSON.parse(meta) as string[]) : [];
    send({ type: 'model-loaded', name, epochsDone: model.epochsDone });
    return;
  }
  try {
    await state.model.loadCheckpoint(bytes);
  } catch (e) {
    throw new PageError('checkpoint-mismatch', `${name} is not a checkpoint of this model (${state.model.name}): ${(e as Error).message}\n` +
      'Nothing was changed: the model in memory and the stored checkpoints are as they were.');
  }
  send({ type: 'model-loaded', name, epochsDone: state.model.epochsDone });
}

async function handle(m: ToWorker): Promise<void> {
  if (state.deviceLost && m.type !== 'forget') throw new PageError('device-lost', 'The GPU device was lost; reload the page to continue (the stored checkpoint is kept).');
  if (state.training && m.type !== 'stop' && m.type !== 'lose-device') throw new Error(`Training is running; stop it before '${m.type}'`);
  switch (m.type) {
    case 'init': return init();
    case 'load-base': return loadBase(m.source, m.imageSize);
    case 'train':
    case 'resume':
      state.training = true;
      try {
        return await (m.type === 'train' ? train(m.settings, m.images) : resume(m.featureEpochs, m.fineTuneEpochs));
      } finally {
        state.training = false;
      }
    case 'stop':
      if (state.model) state.model.stopTraining = true;
      return;
    case 'predict': return top3(m.image, m.name);
    case 'export': return exportModel(m.format);
    case 'load-checkpoint': return loadCheckpointFile(m.file, m.name);
    case 'forget':
      await clearRun();
      return send({ type: 'stored', stored: null });
    case 'lose-device':
      // NOTE: destroy() makes the device lost the way a driver reset does, so the page's handling can be tested.
      graft.getDevice().gpu.destroy();
      return;
  }
}

const describe: Record<ToWorker['type'], string> = {
  init: 'Starting WebGPU', 'load-base': 'Loading the pretrained base', train: 'Training', resume: 'Resuming', stop: 'Stopping',
  predict: 'Predicting', export: 'Exporting the model', 'load-checkpoint': 'Loading the checkpoint', forget: 'Forgetting the stored run',
  'lose-device': 'Losing the device',
};

scope.onmessage = (e) => {
  void handle(e.data).catch((err: unknown) => fail(err, describe[e.data.type]));
};
