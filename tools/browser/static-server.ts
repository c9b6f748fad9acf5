// Node-only: a static file server on 127.0.0.1 and a free port (WebGPU needs a secure context; about:blank has none).

import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wgsl': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** A running server: its origin (`http://127.0.0.1:PORT`) and a close function. */
export interface StaticServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  origin: string;
  close: () => Promise<void>;
}

/** Serves files under the given URL prefixes (`{'/': dir, '/weights/': otherDir}`); nothing outside them. */
export async function serveStatic(roots: Record<string, string>): Promise<StaticServer> {
  const mounts = Object.entries(roots)
    .map(([prefix, dir]) => [prefix, resolve(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const mount = mounts.find(([prefix]) => path.startsWith(prefix));
    const file = mount ? resolve(mount[1], `.${sep}${path.slice(mount[0].length)}`) : null;
    // NOTE: never follow a path out of its mounted folder ('..', absolute segments).
    if (!mount || !file || (file !== mount[1] && !file.startsWith(mount[1] + sep))) {
      res.writeHead(404).end();
      return;
    }
    stat(file)
      .then((s) => (s.isFile() ? readFile(file) : Promise.reject(new Error('not a file'))))
      .then(
        (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
        () => res.writeHead(404).end(),
      );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** An empty HTML page (no favicon request) to open before importing a module in it with page.evaluate. */
export function blankPage(title: string): string {
  return `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>${title}</title>\n`;
}
