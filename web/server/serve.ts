// The web page's HTTP server: the built page, the pretrained MobileNetV2 file and the one-click sample, on 127.0.0.1.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { contentType, resolveInside } from './files.js';
import { listSample, type SampleListing } from './sample.js';

/** URL of the pretrained base the page loads by default. */
export const BASE_URL = '/sample/base.onnx';
/** URL of the sample listing (JSON). */
export const SAMPLE_URL = '/sample/images.json';
const SAMPLE_PREFIX = '/sample/images/';

/** Options of serveWeb. */
export interface ServeOptions {
  /** The built page (buildPage's outDir). */
  pageDir: string;
  /** The pretrained MobileNetV2 ONNX file served at BASE_URL. */
  weights: string;
  /** Image-folder tree of the sample (one subfolder per class). */
  sampleDir: string;
  /** Images per class in the sample. */
  perClass: number;
  /** Classes in the sample (default all). */
  classes?: number;
  /** Port (0: a free one). */
  port?: number;
  /** Interface (default 127.0.0.1: WebGPU needs a secure context, which localhost is). */
  host?: string;
}

/** A running server. */
export interface WebServer {
  url: string;
  listing: SampleListing;
  close(): Promise<void>;
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: string, name = file): void {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return void notFound(res);
    size = st.size;
  } catch {
    return void notFound(res);
  }
  res.writeHead(200, { 'content-type': contentType(name), 'content-length': size, 'cache-control': 'no-cache' });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

function notFound(res: ServerResponse, what = 'not found'): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(what);
}

/** Starts the server; resolves once it listens. Files outside the page, the weights file and the sample are never served. */
export async function serveWeb(o: ServeOptions): Promise<WebServer> {
  const sample = listSample({ dir: o.sampleDir, urlPrefix: SAMPLE_PREFIX, perClass: o.perClass, classes: o.classes });
  const listingJson = JSON.stringify(sample.listing);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      return void res.end();
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === SAMPLE_URL) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
      return void res.end(listingJson);
    }
    if (path === BASE_URL) {
      if (!existsSync(o.weights)) return notFound(res, `the pretrained file ${o.weights} is missing on the server`);
      return sendFile(req, res, o.weights, basename(o.weights));
    }
    if (path.startsWith(SAMPLE_PREFIX)) {
      // NOTE: only the files of the listing are served here, so no path can reach outside the sample.
      const file = sample.files.get(path);
      return file ? sendFile(req, res, file) : notFound(res);
    }
    const file = resolveInside(o.pageDir, path.endsWith('/') ? `${path}index.html` : path);
    return file ? sendFile(req, res, file) : notFound(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}/`,
    listing: sample.listing,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
