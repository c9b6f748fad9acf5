// The house's layers: every import between src/ folders points down (the table below, as in DESIGN.md), and the
// core that browsers get (src/index.ts and src/browser/) reaches no Node-only module. A new upward arrow or a
// `node:` import in the core fails here with the file and the import named.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');

/** Which top-level folders (or root files) of src/ each may import from. */
const ALLOWED: Record<string, string[]> = {
  platform: [],
  reference: [],
  gpu: ['platform'],
  tensor: ['gpu', 'platform'],
  ops: ['tensor', 'gpu', 'platform'],
  nn: ['ops', 'tensor', 'gpu', 'platform'],
  io: ['nn', 'ops', 'tensor', 'gpu', 'platform'],
  data: ['io', 'tensor', 'gpu', 'platform'],
  train: ['io', 'nn', 'ops', 'tensor', 'gpu', 'platform'],
  applications: ['train', 'io', 'nn', 'ops', 'tensor', 'gpu', 'platform'],
  api: ['applications', 'train', 'data', 'io', 'nn', 'ops', 'tensor', 'gpu', 'platform'],
  index: ['api', 'applications', 'train', 'data', 'io', 'nn', 'ops', 'tensor', 'gpu', 'platform'],
  node: ['index', 'api', 'applications', 'train', 'data', 'io', 'nn', 'ops', 'tensor', 'gpu', 'platform'],
  browser: ['index', 'api', 'applications', 'train', 'data', 'io', 'nn', 'ops', 'tensor', 'gpu', 'platform'],
};

const NODE_ONLY = /^(node:|fs$|path$|os$|child_process$|crypto$|zlib$|sharp$|webgpu$|onnxruntime)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports, type-only imports and dynamic imports included. */
function specifiers(file: string): string[] {
  const code = readFileSync(file, 'utf8');
  const pattern = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'|(?:^|\n)\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  return [...code.matchAll(pattern)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

const topOf = (file: string) => relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '');
const resolveTs = (from: string, spec: string) => resolve(dirname(from), spec.replace(/\.js$/, '.ts'));

describe('layers of src/', () => {
  it('every import between folders points down', () => {
    const upward: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = topOf(file);
      for (const spec of specifiers(file).filter((s) => s.startsWith('.'))) {
        const to = topOf(resolveTs(file, spec));
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) upward.push(`${relative(SRC, file)} imports ${spec} (${from} -> ${to})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it.each(['index.ts', 'browser/index.ts'])('src/%s reaches no Node-only module', (entry) => {
    const seen = new Set<string>();
    const nodeOnly: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of specifiers(file)) {
        if (spec.startsWith('.')) visit(resolveTs(file, spec));
        else if (NODE_ONLY.test(spec)) nodeOnly.push(`${relative(SRC, file)} imports ${spec}`);
      }
    };
    visit(join(SRC, entry));
    expect(seen.size).toBeGreaterThan(100);
    expect(nodeOnly).toEqual([]);
  });
});
