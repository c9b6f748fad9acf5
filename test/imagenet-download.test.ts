// weights: 'imagenet' without the internet: Keras-layout B0 files served from 127.0.0.1 through the real download
// path (first download, cache hit, checksum mismatch, truncated responses, server down), in the Node folder cache
// and the browser Cache Storage one; md5 in JS against node:crypto.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  EFFICIENTNET_B0_NOTOP, efficientNetB0, ModelDownloadError, parseImagenetClassIndex, type ModelFile, type ModelFileCache,
} from '../src/applications/index.js';
import { nodeModelFileCache } from '../src/node/model-cache.js';
import { browserModelFileCache } from '../src/browser/model-cache.js';
import { md5Hex } from '../src/io/md5.js';
import { b0KerasLayers, encodeKerasH5 } from '../tools/fixtures/keras-h5.js';
import { chooseBase } from '../tools/demo/base.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

type Mode = 'ok' | 'corrupt' | 'cut' | 'short';
let mode: Mode = 'ok';
let requests = 0;
let server: Server;
let base = '';
let fixture: Uint8Array;
let file: ModelFile;
const layers = b0KerasLayers({ seed: 9, includeTop: false });
const small = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) & 255);
const smallFile: ModelFile = { name: 'small.bin', url: 'https://example.invalid/small.bin', md5: createHash('md5').update(small).digest('hex') };

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  fixture = await encodeKerasH5(layers);
  file = { ...EFFICIENTNET_B0_NOTOP, md5: md5(fixture), bytes: fixture.length };
  server = createServer((req, res) => {
    requests++;
    // NOTE: no keep-alive: a socket the server times out while the client reuses it would fail a request at random.
    res.setHeader('connection', 'close');
    const served = req.url === `/${EFFICIENTNET_B0_NOTOP.name}` ? fixture : req.url === '/small.bin' ? small : null;
    if (!served) return void res.writeHead(404).end();
    const body = Buffer.from(served);
    if (mode === 'corrupt') body[body.length >> 1]! ^= 0xff;
    if (mode === 'short') return void res.writeHead(200, { 'content-length': String(body.length >> 1) }).end(body.subarray(0, body.length >> 1));
    res.writeHead(200, { 'content-length': String(body.length) });
    // NOTE: 'cut' promises the whole file, sends half and drops the connection (a download that broke off).
    if (mode === 'cut') return void res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  delete process.env.GRAFT_HOME;
  delete process.env.GRAFT_WEIGHTS_BASE_URL;
});

/** A fresh $GRAFT_HOME pointed at the local server, as a user's environment would be. */
function freshHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'graft-home-'));
  process.env.GRAFT_HOME = home;
  process.env.GRAFT_WEIGHTS_BASE_URL = base;
  return join(home, 'models');
}

const url = () => `${base}/${EFFICIENTNET_B0_NOTOP.name}`;

/** The download fails with the URL, the cache path and the manual steps, and leaves nothing in the cache folder. */
async function expectCleanFailure(get: Promise<unknown>, dir: string, problem: RegExp): Promise<void> {
  const e = await get.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(ModelDownloadError);
  const msg = (e as Error).message;
  expect(msg).toMatch(problem);
  expect(msg).toContain(url());
  expect(msg).toContain(join(dir, EFFICIENTNET_B0_NOTOP.name));
  expect(msg).toMatch(/download .* on a machine that can reach it and put it at/);
  expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
}

describe('the Node model file cache', () => {
  it('downloads once with progress, then serves later calls from $GRAFT_HOME/models without the network', async () => {
    const dir = freshHome();
    mode = 'ok';
    const before = requests;
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (lines.push(String(s)), true));
    let bytes: Uint8Array;
    try {
      bytes = await nodeModelFileCache().get(file);
    } finally {
      spy.mockRestore();
    }
    expect(requests - before).toBe(1);
    expect(md5(bytes)).toBe(file.md5);
    expect(readdirSync(dir)).toEqual([EFFICIENTNET_B0_NOTOP.name]);
    expect(md5(readFileSync(join(dir, EFFICIENTNET_B0_NOTOP.name)))).toBe(file.md5);
    expect(lines.join('')).toContain(`Downloading ${EFFICIENTNET_B0_NOTOP.name}: 100%`);
    const again = await nodeModelFileCache().get(file);
    expect(requests - before).toBe(1);
    expect(md5(again)).toBe(file.md5);
  });

  it('fetches again over a cached file with the wrong md5, as Keras does', async () => {
    const dir = freshHome();
    mode = 'ok';
    await nodeModelFileCache({ progress: false }).get(file);
    writeFileSync(join(dir, EFFICIENTNET_B0_NOTOP.name), fixture.subarray(0, 1000));
    const before = requests;
    const bytes = await nodeModelFileCache({ progress: false }).get(file);
    expect(requests - before).toBe(1);
    expect(md5(bytes)).toBe(file.md5);
    expect(md5(readFileSync(join(dir, EFFICIENTNET_B0_NOTOP.name)))).toBe(file.md5);
  });

  it('rejects a checksum mismatch, a response that breaks off, a short response and a server that is down', async () => {
    const dir = freshHome();
    const cache = nodeModelFileCache({ progress: false });
    mode = 'corrupt';
    await expectCleanFailure(cache.get(file), dir, new RegExp(`has md5 [0-9a-f]{32}, expected ${file.md5}`));
    mode = 'cut';
    await expectCleanFailure(cache.get(file), dir, /the download broke off/);
    mode = 'short';
    await expectCleanFailure(cache.get(file), dir, new RegExp(`truncated: ${fixture.length >> 1} of ${fixture.length} bytes`));
    mode = 'ok';
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const port = (down.address() as AddressInfo).port;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const offline = nodeModelFileCache({ progress: false, baseUrl: `http://127.0.0.1:${port}` });
    const e = await offline.get(file).then(() => null, (err: Error) => err);
    expect(e?.message).toMatch(new RegExp(`cannot get http://127.0.0.1:${port}/efficientnetb0_notop.h5: no connection \\(ECONNREFUSED: offline, or the host is unreachable\\)`));
    expect(e?.message).toContain(join(dir, EFFICIENTNET_B0_NOTOP.name));
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});

describe("efficientNetB0({ weights: 'imagenet' })", () => {
  it("loads the cached file into B0, and names URL and cache path when the served file is not Keras'", async () => {
    const dir = freshHome();
    mode = 'ok';
    // NOTE: the served bytes are a fixture, so the md5 Graft checks is the fixture's; all else is the real path.
    const real = nodeModelFileCache({ progress: false });
    const cache: ModelFileCache = { locate: real.locate, get: (f) => real.get({ ...f, md5: file.md5, bytes: file.bytes }) };
    const base0 = await efficientNetB0({ weights: 'imagenet', includeTop: false, inputShape: [32, 32, 3], cache });
    expect(base0.layers.at(-1)!.name).toBe('top_activation');
    const kernel = layers.find((l) => l.name === 'top_conv')!.weights[0]!.values;
    expect(await base0.getLayer('top_conv').weights[0]!.read()).toEqual(kernel);
    base0.dispose();
    expect(readdirSync(dir)).toEqual([EFFICIENTNET_B0_NOTOP.name]);

    // With Keras' size and md5 (the default cache, from $GRAFT_HOME and $GRAFT_WEIGHTS_BASE_URL) the fixture is refused.
    const dir2 = freshHome();
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expectCleanFailure(efficientNetB0({ weights: 'imagenet', includeTop: false }), dir2, new RegExp(`truncated: ${fixture.length} of ${EFFICIENTNET_B0_NOTOP.bytes} bytes`));
    } finally {
      spy.mockRestore();
    }
    await expect(efficientNetB0({ weights: 'imagenet', classes: 10 })).rejects.toThrow(/classify 1000 classes, not 10; use includeTop: false/);
  });
});

describe('the demo base', () => {
  it("is B0 on Keras' weights when they can be fetched, else MobileNetV2 with the reason and how to get B0", async () => {
    const dir = freshHome();
    mode = 'ok';
    const mobile = join(dir, '..', 'mobilenet.onnx');
    writeFileSync(mobile, '');
    const real = nodeModelFileCache({ progress: false });
    const fixtureMd5: ModelFileCache = { locate: real.locate, get: (f) => real.get({ ...f, md5: file.md5, bytes: file.bytes }) };
    const b0 = await chooseBase(join(dir, 'absent.onnx'), mobile, fixtureMd5);
    expect(b0).toMatchObject({ kind: 'efficientnet-b0', weights: 'imagenet' });
    expect(b0.reason).toContain(join(dir, EFFICIENTNET_B0_NOTOP.name));
    const down = nodeModelFileCache({ progress: false, dir: join(dir, 'other'), baseUrl: 'http://127.0.0.1:9/' });
    const mb = await chooseBase(join(dir, 'absent.onnx'), mobile, down);
    expect(mb.kind).toBe('mobilenet-v2');
    expect(mb.reason).toMatch(/absent.onnx is absent and Keras' EfficientNet-B0 ImageNet weights are not available \(cannot get http:\/\/127.0.0.1:9\/efficientnetb0_notop.h5: no connection/);
    expect(mb.reason).toContain(`put it at ${join(dir, 'other', EFFICIENTNET_B0_NOTOP.name)}`);
  });
});

/** Cache Storage as browsers have it, kept in a Map (Node has no `caches`). */
function memoryCaches(): CacheStorage {
  const stores = new Map<string, Map<string, ArrayBuffer>>();
  return {
    async open(name: string) {
      if (!stores.has(name)) stores.set(name, new Map());
      const s = stores.get(name)!;
      return {
        async match(key: string) {
          const b = s.get(key);
          return b ? new Response(b.slice(0)) : undefined;
        },
        async put(key: string, r: Response) {
          s.set(key, await r.arrayBuffer());
        },
        async delete(key: string) {
          return s.delete(key);
        },
      } as unknown as Cache;
    },
  } as unknown as CacheStorage;
}

describe('the browser model file cache', () => {
  it('downloads once into Cache Storage, serves hits from it and stores nothing on a bad download', async () => {
    mode = 'ok';
    const caches = memoryCaches();
    const seen: number[] = [];
    const cache = browserModelFileCache({ baseUrl: base, caches, onProgress: (_, done) => seen.push(done) });
    const before = requests;
    expect(md5(await cache.get(smallFile))).toBe(smallFile.md5);
    expect(seen.at(-1)).toBe(small.length);
    expect(md5(await cache.get(smallFile))).toBe(smallFile.md5);
    expect(requests - before).toBe(1);
    const empty = memoryCaches();
    mode = 'corrupt';
    const bad = browserModelFileCache({ baseUrl: base, caches: empty });
    await expect(bad.get(smallFile)).rejects.toThrow(`cannot get ${base}/small.bin: the downloaded file has md5`);
    expect(await (await empty.open('graft-models')).match(`${base}/small.bin`)).toBeUndefined();
    mode = 'ok';
  });

  it("reads Keras' ImageNet class index and rejects one that is not", () => {
    const index = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [String(i), [`n${i}`, `class_${i}`]]));
    const bytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    expect(parseImagenetClassIndex(bytes(index), 'idx').slice(0, 2)).toEqual(['class_0', 'class_1']);
    expect(() => parseImagenetClassIndex(bytes({ ...index, 7: ['n7'] }), 'idx')).toThrow("idx is not an ImageNet class index (entry '7')");
    expect(() => parseImagenetClassIndex(bytes({ 0: ['n0', 'a'] }), 'idx')).toThrow("idx has 1 classes, not ImageNet's 1000");
  });

  it('md5 in JS equals node:crypto', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 70_001]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
      expect(md5Hex(b), `${n} bytes`).toBe(md5(b));
    }
    expect(md5Hex(fixture)).toBe(file.md5);
  });
});
