// Node-only: finds Debian's Chromium and launches it headless with WebGPU on SwiftShader (no GPU needed).

import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Browser, LaunchOptions } from 'playwright';

/** Flags that give headless Chromium a WebGPU adapter without a GPU, on a closed network. */
export const CHROMIUM_WEBGPU_ARGS: readonly string[] = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-vulkan-surface',
  // NOTE: the network is closed; these stop Chromium's own background requests (refused connections, retries).
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Path of the Chromium binary: $GRAFT_CHROMIUM, /usr/bin/chromium, or `chromium` on PATH; null when none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const explicit = env['GRAFT_CHROMIUM'];
  if (explicit) return existsSync(explicit) ? explicit : null;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'chromium'))) return join(dir, 'chromium');
  }
  return null;
}

/** Playwright launch options for that binary (never a downloaded browser). */
export function chromiumLaunchOptions(executablePath: string): LaunchOptions {
  return { executablePath, headless: true, args: [...CHROMIUM_WEBGPU_ARGS] };
}

/** Launches headless Chromium with WebGPU, or throws naming what is missing. */
export async function launchChromium(): Promise<Browser> {
  const path = findChromium();
  if (!path) throw new Error('Chromium not found (/usr/bin/chromium or chromium on PATH); run `npm run preflight` as root on Debian to install it');
  const { chromium } = await import('playwright');
  return chromium.launch(chromiumLaunchOptions(path));
}
