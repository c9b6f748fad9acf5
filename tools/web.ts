// `npm run web`: builds the transfer-learning web page with Vite and serves it on http://127.0.0.1:PORT, with the
// pretrained MobileNetV2 file and a few food10 images per class as the one-click sample.

import { Command } from 'commander';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_WEBGPU_ARGS } from './browser/chromium.js';
import { isMain } from './is-main.js';
import { buildPage } from '../web/server/build.js';
import { serveWeb, type WebServer } from '../web/server/serve.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
// NOTE: the same default as the tests: $GRAFT_SHARED_DIR, else ../shared beside the repository.
const SHARED = process.env['GRAFT_SHARED_DIR'] || join(REPO, '..', 'shared');

/** The Chromium flags a user needs for WebGPU on a Linux machine without a GPU (SwiftShader, a CPU Vulkan). */
export const CHROMIUM_GPU_LESS_FLAGS = CHROMIUM_WEBGPU_ARGS.filter((a) => /webgpu|vulkan|angle/i.test(a));

/** Options of startWeb. */
export interface WebOptions {
  /** Port (default 0: a free one). */
  port?: number;
  /** Where the built page goes (default dist/web). */
  outDir?: string;
  /** The pretrained MobileNetV2 ONNX file (default <shared>/weights/mobilenet_v2_1.0_224.onnx). */
  weights?: string;
  /** The sample's class-folder tree (default <shared>/data/food10/train). */
  sampleDir?: string;
  /** Sample images per class (default 12). */
  perClass?: number;
  /** Sample classes (default all). */
  classes?: number;
}

/** A started page server, with the size of the built page. */
export interface StartedWeb extends WebServer {
  /** Files of the built page and their sizes in bytes. */
  files: { file: string; bytes: number }[];
}

/** Builds the page and serves it; close() stops the server. */
export async function startWeb(o: WebOptions = {}): Promise<StartedWeb> {
  const outDir = o.outDir ?? join(REPO, 'dist', 'web');
  const files = await buildPage(outDir);
  const server = await serveWeb({
    pageDir: outDir,
    weights: o.weights ?? join(SHARED, 'weights', 'mobilenet_v2_1.0_224.onnx'),
    sampleDir: o.sampleDir ?? join(SHARED, 'data', 'food10', 'train'),
    perClass: o.perClass ?? 12,
    classes: o.classes,
    port: o.port ?? 0,
  });
  return { ...server, files };
}

const positiveInt = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got '${v}'`);
  return n;
};

async function main(): Promise<void> {
  const o = new Command()
    .name('npm run web --')
    .description('build and serve the transfer-learning web page')
    .option('--port <n>', 'port (0: any free one)', positiveInt('--port'), 8080)
    .option('--weights <file>', 'pretrained MobileNetV2 ONNX file')
    .option('--sample <dir>', 'class-folder tree of the one-click sample')
    .option('--per-class <n>', 'sample images per class', positiveInt('--per-class'), 12)
    .option('--classes <n>', 'sample classes (default all)', positiveInt('--classes'))
    .parse(process.argv)
    .opts<{ port: number; weights?: string; sample?: string; perClass: number; classes?: number }>();
  const web = await startWeb({ port: o.port, weights: o.weights, sampleDir: o.sample, perClass: o.perClass, classes: o.classes });
  // NOTE: every file with its size: some chunks (h5wasm) are fetched only when a feature needs them.
  console.log(`Built the page into dist/web: ${web.files.map((f) => `${f.file} ${(f.bytes / 1024).toFixed(0)} KiB`).join(', ')}.`);
  console.log(`Sample: ${web.listing.classes.length} classes x up to ${o.perClass} images from ${web.listing.name}.`);
  console.log(`\nOpen ${web.url} in Chrome/Chromium 113+ or Edge (WebGPU). Ctrl-C stops the server.`);
  console.log(`On Linux without a GPU start Chromium with:\n  chromium ${CHROMIUM_GPU_LESS_FLAGS.join(' ')} ${web.url}`);
  process.once('SIGINT', () => void web.close().then(() => process.exit(0)));
}

if (isMain(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`npm run web: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
