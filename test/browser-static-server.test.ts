// The 127.0.0.1 server of the browser tests and benchmark serves its mounted folders and nothing outside them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveStatic, type StaticServer } from '../tools/browser/static-server.js';

/** GET with the path sent exactly as written (fetch would normalize '..' before sending). */
function rawGet(origin: string, path: string): Promise<{ status: number; body: string; type: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((ok, fail) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('serveStatic', () => {
  let dir = '';
  let server: StaticServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'graft-static-'));
    mkdirSync(join(dir, 'site'));
    mkdirSync(join(dir, 'weights'));
    writeFileSync(join(dir, 'secret.txt'), 'outside');
    writeFileSync(join(dir, 'site', 'app.js'), 'export const x = 1;');
    writeFileSync(join(dir, 'weights', 'w.onnx'), 'bytes');
    server = await serveStatic({ '/': join(dir, 'site'), '/weights/': join(dir, 'weights') });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves files of each mount with a content type', async () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const js = await rawGet(server.origin, '/app.js');
    expect(js).toMatchObject({ status: 200, body: 'export const x = 1;' });
    expect(js.type).toContain('text/javascript');
    expect(await rawGet(server.origin, '/weights/w.onnx')).toMatchObject({ status: 200, body: 'bytes' });
  });

  it('answers 404 for missing files, folders and every way out of a mount', async () => {
    for (const path of ['/missing.js', '/', '/weights/', '/../secret.txt', '/%2e%2e/secret.txt', '/%2F..%2Fsecret.txt', '/weights/..%2F..%2Fsecret.txt']) {
      expect((await rawGet(server.origin, path)).status, path).toBe(404);
    }
  });
});
