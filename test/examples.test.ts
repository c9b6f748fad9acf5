// Every file in examples/ runs (so the README's examples never rot): each in its own tsx process, at small sizes.
// examples that read ../shared (the MobileNetV2 weights and Food-101 images) are skipped, saying so, where it is absent.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '..', 'shared');
const out = mkdtempSync(join(tmpdir(), 'graft-examples-'));
const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts')).sort();

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('examples/', () => {
  it('holds the examples this file expects to run', () => {
    expect(examples).toContain('autograd.ts');
    expect(examples).toContain('transfer-learning.ts');
  });

  for (const file of examples) {
    const needsShared = readFileSync(join(ROOT, 'examples', file), 'utf8').includes('../shared/');
    const missing = needsShared && !existsSync(SHARED);
    if (missing) console.warn(`examples/${file}: skipped, it needs ${SHARED} (pretrained weights and images), which is absent`);
    it.skipIf(missing)(`examples/${file} runs to the end`, () => {
      const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsx'), [join('examples', file)], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, XDG_RUNTIME_DIR: process.env['XDG_RUNTIME_DIR'] ?? '/tmp', GRAFT_EXAMPLE_SMALL: '1', GRAFT_EXAMPLE_OUT: join(out, file) },
      });
      expect(r.status, `examples/${file} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout.trim().length).toBeGreaterThan(0);
    }, 300_000);
  }
});
