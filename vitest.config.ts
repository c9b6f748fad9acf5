import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { chromiumLaunchOptions, findChromium } from './tools/browser/chromium.js';

// NOTE: the kernel suites (oracle comparisons and gradient checks of every kernel) run in both hosts: Node (Dawn)
// and headless Chromium (WebGPU on SwiftShader). One suite, two hosts.
export const BROWSER_SUITES = [
  'matmul', 'conv2d', 'depthwise-conv2d', 'batchnorm', 'pool', 'elementwise', 'reduce', 'softmax', 'layout',
  'autograd', 'optimizers', 'augment', 'mbconv', 'fusion-ops', 'mixed-precision-gate',
].map((name) => `test/${name}.test.ts`);

// NOTE: a missing Chromium must fail the browser project loudly, never skip it: vitest then reports the launch error.
const chromium = findChromium() ?? '/usr/bin/chromium';

// NOTE: checkouts that share one node_modules (worktrees) would share Vite's dependency cache; one run's
// re-optimization can reload another run's browser pages ("Vitest failed to find the runner", seen once here).
const checkout = createHash('sha256').update(import.meta.dirname).digest('hex').slice(0, 12);
const cacheDir = join(tmpdir(), `graft-vite-${checkout}`);

export default defineConfig({
  cacheDir,
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**'],
          // NOTE: each file gets its own process (Dawn is not fork-safe to share); two at a time on the 2-core CI machine.
          setupFiles: ['test/setup-node.ts'],
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: BROWSER_SUITES,
          setupFiles: ['test/setup-browser.ts'],
          // NOTE: one file at a time: SwiftShader already uses every core, and the CI machine has two.
          fileParallelism: false,
          maxWorkers: 1,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: chromiumLaunchOptions(chromium) }),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
          },
        },
      },
    ],
  },
});
