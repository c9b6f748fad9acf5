// The page's main thread: pickers, drag and drop, the sample button, settings, charts and the progress line. All GPU
// work happens in the worker (worker.ts); this thread only sends requests and draws what comes back.

import { drawChart } from './chart.js';
import { filesFromDrop, filesFromPicker, labelByFolder, looksLikeImage, type PathedFile } from './dropped-files.js';
import { noWebGpuMessage } from './gpu-help.js';
import type { ErrorKind, FromWorker, ImageEntry, StoredRun, ToWorker } from './messages.js';
import { readSettings, writeSettings } from './settings-form.js';

/** Served by `npm run web` (web/server/serve.ts). */
const BASE_URL = './sample/base.onnx';
const SAMPLE_URL = './sample/images.json';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('settings');
const buttons = {
  train: $<HTMLButtonElement>('train-button'), stop: $<HTMLButtonElement>('stop-button'), resume: $<HTMLButtonElement>('resume-button'),
  forget: $<HTMLButtonElement>('forget-button'), sample: $<HTMLButtonElement>('sample-button'),
  safetensors: $<HTMLButtonElement>('download-safetensors'), onnx: $<HTMLButtonElement>('download-onnx'),
};

/** What tests (and curious users, in the console) can read: training windows and the last prediction. */
const debug = {
  trainingWindows: [] as { start: number; end: number | null }[],
  lastPrediction: null as Extract<FromWorker, { type: 'prediction' }> | null,
  epochs: [] as { epoch: number; logs: Record<string, number> }[],
  errors: [] as { kind: ErrorKind; message: string }[],
  loseDevice: () => post({ type: 'lose-device' }),
};
(globalThis as { graftWeb?: typeof debug }).graftWeb = debug;

const page = {
  ready: false, baseLoaded: false, training: false, hasModel: false,
  images: [] as ImageEntry[], stored: null as StoredRun | null,
  history: [] as Record<string, number>[], totalEpochs: 0, fineTuneAt: 0,
};

function setState(s: string): void {
  document.body.dataset.state = s;
}

function showMessage(kind: ErrorKind | 'info', text: string): void {
  const box = $('message');
  box.hidden = false;
  box.className = `message ${kind === 'info' ? 'info' : 'error'}`;
  box.dataset.kind = kind;
  box.textContent = text;
  if (kind !== 'info') debug.errors.push({ kind, message: text });
}

function log(line: string): void {
  const el = $('log');
  el.textContent += `${line}\n`;
  el.scrollTop = el.scrollHeight;
}

function refreshButtons(): void {
  const idle = page.ready && !page.training;
  buttons.train.disabled = !(idle && page.baseLoaded && new Set(page.images.map((i) => i.label)).size >= 2);
  buttons.stop.disabled = !page.training;
  buttons.resume.disabled = !(idle && page.stored !== null);
  buttons.forget.disabled = !(idle && page.stored !== null);
  buttons.safetensors.disabled = !(idle && page.hasModel);
  buttons.onnx.disabled = !(idle && page.hasModel);
  buttons.sample.disabled = !page.ready;
}

function drawCharts(): void {
  const series = (key: string) => page.history.map((l) => l[key] ?? NaN);
  const o = { epochs: page.totalEpochs, fineTuneAt: page.fineTuneAt > 0 && page.fineTuneAt < page.totalEpochs ? page.fineTuneAt + 1 : undefined };
  drawChart($('loss-chart') as unknown as SVGSVGElement, [
    { name: 'training loss', color: '#3b7ddd', values: series('loss') },
    { name: 'validation loss', color: '#e0832f', values: series('val_loss') },
  ], { ...o, title: 'Loss', yRange: null });
  drawChart($('accuracy-chart') as unknown as SVGSVGElement, [
    { name: 'training accuracy', color: '#3b7ddd', values: series('accuracy') },
    { name: 'validation accuracy', color: '#e0832f', values: series('val_accuracy') },
  ], { ...o, title: 'Accuracy', yRange: [0, 1] });
}

function showStored(stored: StoredRun | null): void {
  page.stored = stored;
  $('stored-run').textContent = stored
    ? `Stored in this browser: a run on ${stored.images} images of ${stored.classNames.length} classes, ${stored.checkpointEpoch} of ${stored.settings.featureEpochs + stored.settings.fineTuneEpochs} epochs done` +
      `${stored.checkpoint ? ` (checkpoint ${stored.checkpoint})` : ''}. Resume continues it with the epochs set above.`
    : '';
  document.body.dataset.stored = stored ? String(stored.checkpointEpoch) : 'none';
  refreshButtons();
}

function setImages(images: ImageEntry[], skipped: { path: string; reason: string }[], from: string): void {
  page.images = images;
  const counts = new Map<string, number>();
  for (const i of images) counts.set(i.label, (counts.get(i.label) ?? 0) + 1);
  $('data-summary').textContent = images.length === 0 ? `No images found in ${from}.`
    : `${images.length} images in ${counts.size} classes from ${from}: ${[...counts].map(([c, n]) => `${c} (${n})`).join(', ')}.`;
  document.body.dataset.images = String(images.length);
  if (skipped.length > 0) {
    showMessage('not-an-image', `Left out ${skipped.length} file${skipped.length === 1 ? '' : 's'} of ${from}: ` +
      `${skipped.slice(0, 5).map((s) => `${s.path} (${s.reason})`).join(', ')}${skipped.length > 5 ? ', …' : ''}. ` +
      'Drop folders of JPEG, PNG, WebP or GIF images, one folder per class.');
  } else if (counts.size === 1) {
    showMessage('other', `All images are in one class ('${[...counts.keys()][0]}'); training needs at least 2 folders.`);
  }
  refreshButtons();
}

function takeFiles(files: PathedFile[], from: string): void {
  const { images, skipped } = labelByFolder(files);
  setImages(images, skipped, from);
}

function download(bytes: Uint8Array, fileName: string, mime: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function predict(file: File): void {
  if (!looksLikeImage(file)) {
    showMessage('not-an-image', `${file.name} is not an image (${file.type || 'unknown type'}); drop a JPEG, PNG, WebP or GIF photo.`);
    return;
  }
  const img = $<HTMLImageElement>('photo-preview');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  post({ type: 'predict', image: file, name: file.name });
}

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
function post(m: ToWorker): void {
  worker.postMessage(m);
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'ready':
      page.ready = true;
      $('gpu-status').textContent = `WebGPU adapter: ${m.adapter}.`;
      setState('ready');
      showStored(m.stored);
      if (m.stored) writeSettings(form, m.stored.settings);
      $('base-status').textContent = '(loading…)';
      post({ type: 'load-base', source: { kind: 'url', url: new URL(BASE_URL, location.href).href, name: 'mobilenet_v2_1.0_224.onnx' }, imageSize: 32 });
      break;
    case 'base-loaded':
      page.baseLoaded = true;
      $('base-name').textContent = m.name;
      $('base-status').textContent = `(${m.layers} layers, ${m.params.toLocaleString('en-US')} parameters without the top)`;
      document.body.dataset.base = m.name;
      refreshButtons();
      break;
    case 'log':
      log(m.line);
      break;
    case 'progress':
      $('progress').textContent = m.line;
      break;
    case 'training-started':
      page.training = true;
      page.history = [...m.history];
      page.totalEpochs = m.totalEpochs;
      page.fineTuneAt = m.fineTuneAt;
      debug.trainingWindows.push({ start: performance.now(), end: null });
      setState('training');
      drawCharts();
      refreshButtons();
      break;
    case 'epoch':
      page.history[m.epoch] = m.logs;
      debug.epochs.push({ epoch: m.epoch, logs: m.logs });
      log(`Epoch ${m.epoch + 1}/${m.totalEpochs} (${m.phase}): ${Object.entries(m.logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
      document.body.dataset.epoch = String(m.epoch + 1);
      document.body.dataset.accuracy = String(m.logs.accuracy ?? '');
      document.body.dataset.valAccuracy = String(m.logs.val_accuracy ?? '');
      drawCharts();
      break;
    case 'training-ended':
      page.training = false;
      page.hasModel = true;
      debug.trainingWindows.at(-1)!.end = performance.now();
      log(m.stopped ? `Stopped after epoch ${m.epochsDone}.` : `Done: ${m.epochsDone} epochs.`);
      showStored(m.stored);
      setState(m.stopped ? 'stopped' : 'trained');
      break;
    case 'prediction': {
      debug.lastPrediction = m;
      const list = $('top3');
      list.replaceChildren(...m.top.map((t) => {
        const li = document.createElement('li');
        li.dataset.className = t.className;
        li.textContent = `${t.className}: ${(100 * t.probability).toFixed(1)}%`;
        const bar = document.createElement('span');
        bar.className = 'bar';
        bar.style.width = `${Math.round(120 * t.probability)}px`;
        li.append(bar);
        return li;
      }));
      document.body.dataset.predictions = String(Number(document.body.dataset.predictions ?? 0) + 1);
      break;
    }
    case 'download':
      download(m.bytes, m.fileName, m.mime);
      break;
    case 'stored':
      showStored(m.stored);
      break;
    case 'model-loaded':
      page.hasModel = true;
      log(`Loaded ${m.name} (${m.epochsDone} epochs done): predict with it or download it.`);
      refreshButtons();
      break;
    case 'error':
      if (m.kind === 'no-webgpu' || m.kind === 'no-adapter') {
        // NOTE: the first line names the cause; the steps that follow in Graft's message are the page's own below.
        showMessage(m.kind, noWebGpuMessage(m.kind, m.message.split('\n')[0]));
        setState('no-gpu');
      } else {
        showMessage(m.kind, m.message);
        if (m.kind === 'device-lost') setState('device-lost');
      }
      if (m.kind === 'bad-onnx') $('base-status').textContent = page.baseLoaded ? '' : '(not loaded)';
      break;
  }
};
worker.onerror = (e) => showMessage('other', `The training worker failed to start: ${e.message}`);

function bindDrop(zone: HTMLElement, onDrop: (dt: DataTransfer) => void): void {
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer) onDrop(e.dataTransfer);
  });
}

bindDrop($('drop-zone'), (dt) => void filesFromDrop(dt).then((files) => takeFiles(files, 'the dropped folders')));
bindDrop($('photo-zone'), (dt) => {
  const file = dt.files[0];
  if (file) predict(file);
});
// NOTE: every file input is cleared after use, so that picking the same file again fires 'change' again.
$<HTMLInputElement>('folder-input').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  if (input.files) takeFiles(filesFromPicker(input.files), 'the picked folders');
  input.value = '';
});
$<HTMLInputElement>('photo-input').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  if (file) predict(file);
  input.value = '';
});
$<HTMLInputElement>('base-file').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = '';
  if (!file) return;
  $('base-status').textContent = `(loading ${file.name}…)`;
  post({ type: 'load-base', source: { kind: 'file', file, name: file.name }, imageSize: 32 });
});
$<HTMLInputElement>('checkpoint-input').addEventListener('change', (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  if (file) post({ type: 'load-checkpoint', file, name: file.name });
  input.value = '';
});

buttons.sample.addEventListener('click', () => void (async () => {
  buttons.sample.disabled = true;
  try {
    const res = await fetch(SAMPLE_URL);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const listing = (await res.json()) as { name: string; classes: { name: string; images: string[] }[] };
    const images = await Promise.all(listing.classes.flatMap((c) => c.images.map(async (url) => {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return { name: `${c.name}/${decodeURIComponent(url.split('/').at(-1)!)}`, label: c.name, blob: await r.blob() };
    })));
    setImages(images, [], `the ${listing.name} sample`);
  } catch (e) {
    showMessage('other', `Could not load the sample from the server (${(e as Error).message}); is \`npm run web\` still running?`);
  } finally {
    refreshButtons();
  }
})());

buttons.train.addEventListener('click', () => {
  try {
    const settings = readSettings(form);
    $('message').hidden = true;
    post({ type: 'train', settings, images: page.images });
    page.training = true;
    refreshButtons();
  } catch (e) {
    showMessage('other', (e as Error).message);
  }
});
buttons.stop.addEventListener('click', () => post({ type: 'stop' }));
buttons.resume.addEventListener('click', () => {
  try {
    const s = readSettings(form);
    $('message').hidden = true;
    post({ type: 'resume', featureEpochs: s.featureEpochs, fineTuneEpochs: s.fineTuneEpochs });
    page.training = true;
    refreshButtons();
  } catch (e) {
    showMessage('other', (e as Error).message);
  }
});
buttons.forget.addEventListener('click', () => post({ type: 'forget' }));
buttons.safetensors.addEventListener('click', () => post({ type: 'export', format: 'safetensors' }));
buttons.onnx.addEventListener('click', () => post({ type: 'export', format: 'onnx' }));

if (!('gpu' in navigator)) {
  showMessage('no-webgpu', noWebGpuMessage('no-webgpu'));
  setState('no-gpu');
  worker.terminate();
} else {
  post({ type: 'init' });
}
drawCharts();
refreshButtons();
