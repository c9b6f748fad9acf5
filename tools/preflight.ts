// Preflight for every npm script that needs a GPU: finds a WebGPU adapter, or on Debian-family Linux as root
// installs Mesa's lavapipe (software Vulkan) from bookworm-backports; elsewhere prints the steps and exits non-zero.
// With --browser (npm test) it then does the same for Debian's Chromium and checks that Chromium gets a WebGPU adapter.
// Installing Graft as a library never runs this.

import '../src/node/index.js'; // NOTE: first, so that Node's platform (Dawn, files, sharp) is installed before any use
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDevice } from '../src/gpu/device.js';
import { NoAdapterError } from '../src/gpu/acquire.js';
import { findChromium } from './browser/chromium.js';
import { probeChromiumWebGpu } from './browser/chromium-check.js';

const BACKPORTS = '/etc/apt/sources.list.d/backports.sources';

async function findAdapter(): Promise<string | null> {
  try {
    const d = await createDevice();
    const info = d.adapterInfo;
    const desc = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
    d.destroy();
    return desc || 'unnamed adapter';
  } catch (e) {
    if (e instanceof NoAdapterError) return null;
    throw e;
  }
}

function run(cmd: string, args: string[]): void {
  console.log(`preflight: $ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new Error(`preflight: '${cmd} ${args.join(' ')}' failed with status ${r.status}`);
}

/** Writes the bookworm-backports source (same mirrors as the main Debian source), as DEVELOPERS.md shows. */
function addBackports(): void {
  const main = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(BACKPORTS)) return;
  if (!existsSync(main)) throw new Error(`preflight: ${main} not found; add bookworm-backports to apt's sources by hand`);
  const first = readFileSync(main, 'utf8').split(/\n\s*\n/)[0] ?? '';
  const stanza = first
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => (l.startsWith('Suites:') ? 'Suites: bookworm-backports' : l))
    .join('\n');
  console.log(`preflight: writing ${BACKPORTS}`);
  writeFileSync(BACKPORTS, `${stanza}\n`);
}

function canInstall(): boolean {
  return process.platform === 'linux' && existsSync('/etc/debian_version') && process.getuid?.() === 0 && !process.argv.includes('--no-install');
}

const CHROMIUM_STEPS =
  'Graft runs its kernel tests in headless Chromium too; install it from your distribution, e.g. on Debian/Ubuntu:\n' +
  '  apt-get update && apt-get install -y chromium\n' +
  '(or set GRAFT_CHROMIUM to a Chromium/Chrome binary), or run `npm run preflight -- --browser` as root on Debian.';

/** Finds Chromium, installing Debian's package as root where it is missing, then checks its WebGPU adapter. */
async function checkChromium(): Promise<void> {
  if (!findChromium()) {
    if (!canInstall()) {
      console.error(`preflight: Chromium not found (/usr/bin/chromium or chromium on PATH).\n${CHROMIUM_STEPS}`);
      process.exit(1);
    }
    console.log('preflight: no Chromium; installing Debian\'s chromium package (headless WebGPU for the browser tests)');
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', 'chromium']);
    if (!findChromium()) throw new Error('preflight: apt-get installed chromium but /usr/bin/chromium is still missing');
  }
  const probe = await probeChromiumWebGpu();
  if (!probe.ok) {
    throw new Error(
      `preflight: Chromium (${findChromium()}) has no WebGPU adapter: ${probe.reason}.\n` +
        'It needs Vulkan through SwiftShader (bundled with Debian\'s chromium) and the flags in tools/browser/chromium.ts.',
    );
  }
  console.log(`preflight: Chromium WebGPU adapter: ${probe.adapter}`);
}

async function main(): Promise<void> {
  process.env['XDG_RUNTIME_DIR'] ??= '/tmp';
  const found = await findAdapter();
  if (found) {
    console.log(`preflight: WebGPU adapter: ${found}`);
    if (process.argv.includes('--browser')) await checkChromium();
    return;
  }
  if (!canInstall()) {
    console.error(new NoAdapterError('preflight found none').message);
    process.exit(1);
  }
  console.log('preflight: no WebGPU adapter; installing Mesa lavapipe (software Vulkan) from Debian bookworm-backports');
  addBackports();
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '-t', 'bookworm-backports', 'mesa-vulkan-drivers']);
  // NOTE: Dawn caches its Vulkan instance, so look again from a fresh process.
  const self = fileURLToPath(import.meta.url);
  const again = spawnSync(process.execPath, [...process.execArgv, self, '--no-install'], { stdio: 'inherit' });
  if (again.status !== 0) process.exit(again.status ?? 1);
  if (process.argv.includes('--browser')) await checkChromium();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
