// The transfer-learning web page end to end in headless Chromium (WebGPU on SwiftShader): the food10 sample, 2 epochs
// of feature extraction + 1 of fine-tuning at 64x64, accuracy above chance on the page, a top-3 prediction, the
// downloaded .safetensors giving the same probabilities in Node, bad input (a non-image file, an ONNX file Graft
// cannot import, another model's checkpoint) with specific messages, a reload that resumes from the OPFS checkpoint
// (epoch 4 after 3), Stop, a full storage quota and a lost GPU device with nothing trained lost, and the longest
// main-thread task while training (< 200 ms, from a PerformanceObserver). Fails, never skips, without an adapter.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeModel, GraphBuilder } from '../src/io/onnx/writer.js';
import { input, io, layers, loadModel, loadOnnx, model as functionalModel, tensor } from '../src/index.js';
import { chromiumLaunchOptions, findChromium } from '../tools/browser/chromium.js';
import { startWeb, type StartedWeb } from '../tools/web.js';
import { labelByFolder } from '../web/src/dropped-files.js';
import { resolveInside } from '../web/server/files.js';
import { serveWeb } from '../web/server/serve.js';
import { useDevice } from './helpers/gpu.js';
import { sharedPath, sharedSkipReason } from './helpers/shared.js';

useDevice();

// NOTE: 64, not 48: at 48x48 the pretrained MobileNetV2 gives almost all-zero pooled features (2 of 1280 nonzero on a food10 photo).
const SIZE = 64;
const CLASSES = 3;
const WEIGHTS = sharedPath('weights', 'mobilenet_v2_1.0_224.onnx');
const SAMPLE = sharedPath('data', 'food10', 'train');
const PHOTO = sharedPath('data', 'food10', 'test', 'baby_back_ribs');
// NOTE: without the shared data (a clean clone) the page tests skip, saying why; without Chromium or an adapter they fail.
const skip = sharedSkipReason('web-page.test', WEIGHTS, SAMPLE, PHOTO);
// NOTE: generous: SwiftShader compiles every pipeline on first use on a shared 2-core machine.
const LONG = 150_000;
const TEST_TIMEOUT = 400_000;

// NOTE: runs before the page's scripts; records every main-thread task over 50 ms (the Long Tasks API).
const INIT_SCRIPT = `
globalThis.__name = (f) => f;
globalThis.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) globalThis.__longTasks.push({ start: e.startTime, duration: e.duration });
}).observe({ type: 'longtask', buffered: true });
`;

interface PageEpoch { epoch: number; logs: Record<string, number> }

const chromiumPath = findChromium();
const launch = chromiumLaunchOptions(chromiumPath ?? '/usr/bin/chromium');

let web: StartedWeb;
let browser: Browser;
let page: Page;
let cdp: CDPSession;
const tmp = mkdtempSync(join(tmpdir(), 'graft-web-test-'));
const t0 = performance.now();
const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);

const state = () => page.evaluate('document.body.dataset.state') as Promise<string>;
const waitState = (s: string, timeout = LONG) => page.waitForSelector(`body[data-state="${s}"]`, { timeout, state: 'attached' });

/** Waits until training ends one way or another; fails with the page's message unless it ended as `want`. */
async function waitTrainingEnd(want: 'trained' | 'stopped', timeout = 3 * LONG): Promise<void> {
  await page.waitForSelector('body:is([data-state="trained"], [data-state="stopped"], [data-state="device-lost"])', { timeout, state: 'attached' });
  const s = await state();
  if (s !== want) throw new Error(`training ended as '${s}', expected '${want}'; the page says: ${JSON.stringify(await message())}`);
}
const message = () => page.evaluate('({ kind: document.getElementById("message").dataset.kind, text: document.getElementById("message").textContent, hidden: document.getElementById("message").hidden })') as Promise<{ kind: string; text: string; hidden: boolean }>;
const epochs = () => page.evaluate('graftWeb.epochs') as Promise<PageEpoch[]>;
const errorCount = () => page.evaluate('graftWeb.errors.length') as Promise<number>;
const waitError = (n: number) => page.waitForFunction(`graftWeb.errors.length > ${n}`, undefined, { timeout: LONG });

async function setSetting(name: string, value: number): Promise<void> {
  await page.fill(`#settings input[name="${name}"]`, String(value));
}

async function openPage(): Promise<void> {
  await page.goto(web.url);
  await page.waitForSelector('body:not([data-state="loading"])', { timeout: LONG, state: 'attached' });
  const s = await state();
  // NOTE: fail loudly: a missing adapter is a broken test machine, never a reason to skip.
  if (s === 'no-gpu') throw new Error(`Chromium got no WebGPU adapter (flags: ${launch.args!.join(' ')}). The page says: ${(await message()).text}`);
  await page.waitForSelector('body[data-base]', { timeout: LONG, state: 'attached' });
}

async function predictPhoto(): Promise<{ top: { className: string; probability: number }[]; probabilities: number[]; pixels: number[]; size: number }> {
  const before = Number(await page.evaluate('document.body.dataset.predictions ?? 0'));
  await page.setInputFiles('#photo-input', join(PHOTO, readdirSync(PHOTO).sort()[0]!));
  await page.waitForSelector(`body[data-predictions="${before + 1}"]`, { timeout: LONG, state: 'attached' });
  return page.evaluate('({ top: graftWeb.lastPrediction.top, probabilities: graftWeb.lastPrediction.probabilities, pixels: Array.from(graftWeb.lastPrediction.pixels), size: graftWeb.lastPrediction.size })');
}

async function downloadSafetensors(name: string): Promise<string> {
  return downloadFrom('#download-safetensors', name);
}

async function downloadFrom(button: string, name: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: LONG }), page.click(button)]);
  const path = join(tmp, name);
  await download.saveAs(path);
  return path;
}

/** The page's input pixels through the downloaded model (.safetensors or .onnx), in Node (Dawn). */
async function predictInNode(file: string, pixels: number[], size: number): Promise<number[]> {
  const m = file.endsWith('.onnx') ? await loadOnnx(file) : await loadModel(file);
  const x = tensor(Float32Array.from(pixels), [1, size, size, 3]);
  const y = await m.predict(x);
  const out = Array.from(await y.data());
  x.dispose();
  y.dispose();
  m.dispose();
  return out;
}

/** The longest main-thread task that overlaps a training window of the page, in ms (0 when none exceeded 50 ms). */
async function longestTaskWhileTraining(): Promise<number> {
  const { tasks, windows } = await page.evaluate('({ tasks: __longTasks, windows: graftWeb.trainingWindows })') as {
    tasks: { start: number; duration: number }[]; windows: { start: number; end: number | null }[];
  };
  expect(windows.length).toBeGreaterThan(0);
  let longest = 0;
  for (const w of windows) {
    for (const t of tasks) if (t.start < (w.end ?? Infinity) && t.start + t.duration > w.start) longest = Math.max(longest, t.duration);
  }
  return longest;
}

/** GET with the path sent as written (fetch would normalize '..' away). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    get({ hostname, port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('the page\'s folder drop', () => {
  it('labels each image by its folder and lists loose files and non-images with the reason', () => {
    const f = (name: string, type: string) => new File(['x'], name, { type });
    const got = labelByFolder([
      { path: 'food/pie/b.jpg', file: f('b.jpg', 'image/jpeg') },
      { path: 'food/pie/a.png', file: f('a.png', 'image/png') },
      { path: 'ribs/c.webp', file: f('c.webp', '') },
      { path: 'ribs/notes.txt', file: f('notes.txt', 'text/plain') },
      { path: 'loose.jpg', file: f('loose.jpg', 'image/jpeg') },
      { path: 'ribs/.DS_Store', file: f('.DS_Store', '') },
    ]);
    expect(got.images.map((i) => [i.name, i.label])).toEqual([['food/pie/a.png', 'pie'], ['food/pie/b.jpg', 'pie'], ['ribs/c.webp', 'ribs']]);
    expect(got.skipped).toEqual([
      { path: 'ribs/notes.txt', reason: 'not an image (text/plain)' },
      { path: 'loose.jpg', reason: 'not inside a class folder' },
    ]);
  });
});

describe.skipIf(skip)('npm run web: the server', () => {
  it('serves the page, the base and the listed sample images, and nothing outside them', async () => {
    const pageDir = join(tmp, 'static');
    mkdirSync(join(pageDir, 'assets'), { recursive: true });
    writeFileSync(join(pageDir, 'index.html'), '<p>page</p>');
    writeFileSync(join(pageDir, 'assets', 'a.js'), 'export {}');
    const s = await serveWeb({ pageDir, weights: join(tmp, 'missing.onnx'), sampleDir: SAMPLE, perClass: 2, classes: 2 });
    try {
      expect(s.listing.classes.map((c) => c.images.length)).toEqual([2, 2]);
      expect(await rawGet(s.url, '/')).toEqual({ status: 200, body: '<p>page</p>' });
      expect((await rawGet(s.url, '/assets/a.js')).status).toBe(200);
      const listed = s.listing.classes[0]!.images[0]!;
      expect((await rawGet(s.url, listed)).status).toBe(200);
      expect((await rawGet(s.url, '/sample/images.json')).body).toBe(JSON.stringify(s.listing));
      const base = await rawGet(s.url, '/sample/base.onnx');
      expect(base).toEqual({ status: 404, body: `the pretrained file ${join(tmp, 'missing.onnx')} is missing on the server` });
      const outside = ['/../package.json', '/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '/assets%5c..%5cindex.html',
        `${listed.replace(/[^/]+$/, '')}../../../../package.json`, '/sample/images/apple_pie/%2e%2e%2f..%2f..%2fLICENSE-food101.txt', '/%00', '/%E0%A4%A'];
      for (const p of outside) expect([p, (await rawGet(s.url, p)).status]).toEqual([p, 404]);
      expect(resolveInside('/srv/page', '/a/../../etc/passwd')).toBeNull();
      expect(resolveInside('/srv/page', '/a/b.js')).toBe('/srv/page/a/b.js');
    } finally {
      await s.close();
    }
  });
});

describe.skipIf(skip)('the transfer-learning web page in headless Chromium', () => {
  beforeAll(async () => {
    // NOTE: no Chromium fails the test (with the way to install it), never skips it.
    if (!chromiumPath) throw new Error('web-page.test: Chromium not found (/usr/bin/chromium or chromium on PATH); run `npm run preflight` as root on Debian to install it');
    web = await startWeb({ outDir: join(tmp, 'page'), weights: WEIGHTS, sampleDir: SAMPLE, perClass: 8, classes: CLASSES });
    const kb = web.files.reduce((s, f) => s + f.bytes, 0) / 1024;
    console.log(`web-page.test: page built (${web.files.map((f) => `${f.file} ${(f.bytes / 1024).toFixed(0)} KiB`).join(', ')}; ${kb.toFixed(0)} KiB) and served at ${web.url} after ${seconds()} s`);
    browser = await chromium.launch(launch);
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1000, height: 1400 } });
    page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log(`[page ${m.type()}] ${m.text()}`); });
    page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
    await page.addInitScript(INIT_SCRIPT);
    cdp = await context.newCDPSession(page);
  });

  afterAll(async () => {
    // NOTE: what the page showed last, so that a failure explains itself.
    if (page) console.log(`web-page.test: the page's log:\n${await page.textContent('#log').catch(() => '')}\nmessage: ${JSON.stringify(await message().catch(() => null))}`);
    await browser?.close();
    await web?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  let trained: { top: { className: string; probability: number }[]; probabilities: number[]; pixels: number[]; size: number };

  it('opens with a WebGPU adapter, loads the sample and trains 2 + 1 epochs above chance', async () => {
    await openPage();
    expect(await page.textContent('#gpu-status')).toMatch(/WebGPU adapter: /);
    await page.click('#sample-button');
    await page.waitForSelector(`body[data-images="${CLASSES * 8}"]`, { timeout: LONG, state: 'attached' });
    await setSetting('imageSize', SIZE);
    await setSetting('batchSize', 8);
    await setSetting('featureEpochs', 2);
    await setSetting('fineTuneEpochs', 1);
    await setSetting('unfreeze', 5);
    await setSetting('learningRate', 0.001);
    await setSetting('fineTuneLearningRate', 0.0001);
    await setSetting('validationSplit', 0.25);
    await page.click('#train-button');
    await waitTrainingEnd('trained');
    console.log(`web-page.test: trained 3 epochs after ${seconds()} s`);
    const eps = await epochs();
    expect(eps.map((e) => e.epoch)).toEqual([0, 1, 2]);
    const last = eps[2]!.logs;
    console.log(`web-page.test: epoch logs ${JSON.stringify(eps.map((e) => e.logs))}`);
    // NOTE: above chance (1/3) on the page's own numbers: the training accuracy of the last epoch, as the page shows it.
    expect(last.accuracy).toBeGreaterThan(1 / CLASSES);
    expect(Number(await page.evaluate('document.body.dataset.accuracy'))).toBeCloseTo(last.accuracy!, 6);
    expect(await page.textContent('#progress')).toMatch(/Epoch 3\/3\n\s*\d+\/\d+ \[=+\] - .* - loss: \d\.\d{4} - accuracy: \d\.\d{4}/);
    expect(await page.locator('#accuracy-chart path').count()).toBeGreaterThanOrEqual(2);
    const longest = await longestTaskWhileTraining();
    console.log(`web-page.test: longest main-thread task while training: ${longest.toFixed(0)} ms (0: none over 50 ms)`);
    expect(longest).toBeLessThan(200);
  }, TEST_TIMEOUT);

  it('predicts a photo (top 3) and the downloaded .safetensors and .onnx give the same probabilities in Node', async () => {
    trained = await predictPhoto();
    expect(trained.top).toHaveLength(3);
    expect(await page.locator('#top3 li').count()).toBe(3);
    const file = await downloadSafetensors('trained.safetensors');
    const meta = io.decodeSafetensors(new Uint8Array(readFileSync(file)), 'download').metadata;
    expect(JSON.parse(meta.classNames!)).toEqual(web.listing.classes.map((c) => c.name));
    const node = await predictInNode(file, trained.pixels, trained.size);
    const argmax = (p: number[]) => p.indexOf(Math.max(...p));
    expect(argmax(node)).toBe(argmax(trained.probabilities));
    for (let i = 0; i < node.length; i++) expect(Math.abs(node[i]! - trained.probabilities[i]!)).toBeLessThanOrEqual(1e-4);
    const onnx = await predictInNode(await downloadFrom('#download-onnx', 'trained.onnx'), trained.pixels, trained.size);
    expect(argmax(onnx)).toBe(argmax(trained.probabilities));
    for (let i = 0; i < onnx.length; i++) expect(Math.abs(onnx[i]! - trained.probabilities[i]!)).toBeLessThanOrEqual(1e-4);
    const shot = join(tmpdir(), 'graft-web-page-trained.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`web-page.test: screenshot of the trained page: ${shot}`);
  }, TEST_TIMEOUT);

  it('says which file is not an image, which ONNX file cannot be imported and which checkpoint is not this model\'s', async () => {
    // A folder pick with a text file among the images.
    const picked = join(tmp, 'picked');
    for (const c of ['a', 'b']) mkdirSync(join(picked, c), { recursive: true });
    const jpg = readFileSync(join(PHOTO, readdirSync(PHOTO).sort()[0]!));
    writeFileSync(join(picked, 'a', '1.jpg'), jpg);
    writeFileSync(join(picked, 'b', '2.jpg'), jpg);
    writeFileSync(join(picked, 'b', 'notes.txt'), 'not an image');
    let n = await errorCount();
    await page.setInputFiles('#folder-input', picked);
    await waitError(n);
    let m = await message();
    expect(m.kind).toBe('not-an-image');
    expect(m.text).toContain('notes.txt');

    // An ONNX file with an op Graft does not have.
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [1, 3, 8, 8]);
    g.node('NonMaxSuppression', ['x'], ['y'], {}, 'nms_node');
    g.output('y', 'float32', [1, 3, 8, 8]);
    const badOnnx = join(tmp, 'unsupported-op.onnx');
    writeFileSync(badOnnx, encodeModel(g, { opsets: [{ domain: '', version: 17 }] }));
    n = await errorCount();
    await page.setInputFiles('#base-file', badOnnx);
    await waitError(n);
    m = await message();
    expect(m.kind).toBe('bad-onnx');
    expect(m.text).toContain('unsupported-op.onnx');
    expect(m.text).toContain('previous base');

    // A checkpoint of another model.
    const xIn = input({ shape: [4] });
    const other = functionalModel({ inputs: xIn, outputs: layers.dense({ units: 2, name: 'other_dense' }).apply(xIn), name: 'other_model' });
    const otherFile = join(tmp, 'other-model.safetensors');
    await other.save(otherFile);
    other.dispose();
    n = await errorCount();
    await page.setInputFiles('#checkpoint-input', otherFile);
    await waitError(n);
    m = await message();
    expect(m.kind).toBe('checkpoint-mismatch');
    expect(m.text).toContain('other-model.safetensors');

    // Nothing trained was lost: the same photo gets the same probabilities.
    const again = await predictPhoto();
    expect(again.probabilities).toEqual(trained.probabilities);
  }, TEST_TIMEOUT);

  it('resumes after a reload from the checkpoint in OPFS: epoch 4 follows epoch 3', async () => {
    await openPage();
    await page.waitForSelector('body[data-stored="3"]', { timeout: LONG, state: 'attached' });
    expect(await page.inputValue('#settings input[name="imageSize"]')).toBe(String(SIZE));
    await setSetting('fineTuneEpochs', 2);
    await page.click('#resume-button');
    await waitTrainingEnd('trained');
    const eps = await epochs();
    expect(eps.map((e) => e.epoch)).toEqual([3]);
    expect(await page.textContent('#progress')).toMatch(/^Epoch 4\/4\n/);
    expect(await page.evaluate('document.body.dataset.stored')).toBe('4');
    expect(await longestTaskWhileTraining()).toBeLessThan(200);
  }, TEST_TIMEOUT);

  let stored = 0;
  it('stops on request: the epoch in progress ends with its checkpoint and the page says so', async () => {
    await setSetting('fineTuneEpochs', 12);
    await page.click('#resume-button');
    // NOTE: Stop is pressed once epoch 5 of 14 has begun, so training is certainly not over by itself.
    await page.waitForFunction('/^Epoch 5\\/14\\n/.test(document.getElementById("progress").textContent)', undefined, { timeout: LONG });
    await page.click('#stop-button');
    await waitTrainingEnd('stopped');
    stored = Number(await page.evaluate('document.body.dataset.stored'));
    const done = (await epochs()).map((e) => e.epoch);
    expect(stored).toBeGreaterThanOrEqual(5);
    expect(stored).toBeLessThan(14);
    expect(done.at(-1)! + 1).toBe(stored);
    expect(await page.textContent('#log')).toContain(`Stopped after epoch ${stored}.`);
  }, TEST_TIMEOUT);

  it('a full storage quota stops training with a message, and the model in memory still downloads', async () => {
    const origin = new URL(web.url).origin;
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1 });
    try {
      const n = await errorCount();
      await page.click('#resume-button');
      await waitError(n);
      await waitTrainingEnd('stopped');
      const m = await message();
      expect(m.kind).toBe('quota');
      expect(m.text).toMatch(new RegExp(`storage is full.*epoch ${stored + 1}.*still in memory`, 's'));
      const file = await downloadSafetensors('after-quota.safetensors');
      expect((await loadModel(file)).epochsDone).toBe(stored + 1);
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    }
    expect(await page.evaluate('document.body.dataset.stored')).toBe(String(stored));
  }, TEST_TIMEOUT);

  it('a lost GPU device gives a message; the stored checkpoint survives and the downloaded model reopens in a fresh page', async () => {
    const n = await errorCount();
    await page.evaluate('graftWeb.loseDevice()');
    await waitError(n);
    const m = await message();
    expect(m.kind).toBe('device-lost');
    expect(m.text).toMatch(new RegExp(`checkpoint of epoch ${stored} .*Reload the page`, 's'));
    await openPage();
    await page.waitForSelector(`body[data-stored="${stored}"]`, { timeout: LONG, state: 'attached' });
    // The model downloaded after training, opened in the fresh page, predicts as it did.
    await page.setInputFiles('#checkpoint-input', join(tmp, 'trained.safetensors'));
    await page.waitForFunction('document.getElementById("log").textContent.includes("Loaded trained.safetensors (3 epochs done)")', undefined, { timeout: LONG });
    const again = await predictPhoto();
    expect(again.top.map((t) => t.className)).toEqual(trained.top.map((t) => t.className));
    for (let i = 0; i < again.probabilities.length; i++) expect(Math.abs(again.probabilities[i]! - trained.probabilities[i]!)).toBeLessThanOrEqual(1e-6);
  }, TEST_TIMEOUT);

  it('says what to do when the browser has no WebGPU or gives no adapter', async () => {
    const expectAdvice = (m: { kind: string; text: string }, kind: string) => {
      expect(m.kind).toBe(kind);
      expect(m.text).toContain('Chrome/Chromium 113+ or Edge');
      expect(m.text).toContain('--enable-unsafe-webgpu --enable-features=Vulkan');
    };
    // navigator.gpu missing (an older browser): removed before the page's scripts run.
    const noGpu = await page.context().newPage();
    await noGpu.addInitScript('delete Navigator.prototype.gpu;');
    await noGpu.goto(web.url);
    await noGpu.waitForSelector('body[data-state="no-gpu"]', { timeout: LONG, state: 'attached' });
    expectAdvice(await noGpu.evaluate('({ kind: document.getElementById("message").dataset.kind, text: document.getElementById("message").textContent })'), 'no-webgpu');
    await noGpu.close();
    // navigator.gpu present but no adapter: headless Chromium without the WebGPU flags.
    const plain = await chromium.launch({ executablePath: chromiumPath!, args: ['--headless=new', '--no-sandbox', '--disable-background-networking', '--no-first-run'] });
    try {
      const p = await plain.newPage();
      await p.goto(web.url);
      await p.waitForSelector('body[data-state="no-gpu"]', { timeout: LONG, state: 'attached' });
      const m = await p.evaluate('({ kind: document.getElementById("message").dataset.kind, text: document.getElementById("message").textContent })') as { kind: string; text: string };
      expectAdvice(m, 'no-adapter');
      expect(m.text).toContain('requestAdapter() returned null');
    } finally {
      await plain.close();
    }
    console.log(`web-page.test: done after ${seconds()} s`);
  }, TEST_TIMEOUT);
});
