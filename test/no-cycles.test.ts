// The import graph of src/ has no cycles (DESIGN.md: "a cycle is a defect"); `import type` counts too.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** Module specifiers a file imports or re-exports: `import`, `import type`, `export ... from`, `import('...')`. */
function importsOf(source: string): string[] {
  // NOTE: the compiler's own pre-scanner skips comments and strings, which a regex would not.
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** Strongly-connected sets of more than one file, or of a file importing itself (Tarjan), each sorted. */
function importCycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** The graph of src/: file (relative to src/) → the src files it imports or re-exports. */
function srcGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of tsFiles(SRC)) {
    const targets = importsOf(readFileSync(file, 'utf8'))
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(SRC, resolve(dirname(file), spec.replace(/\.js$/, '.ts'))));
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}


describe('import graph of src/', () => {
  it('parses import, import type, export-from and side-effect imports', () => {
    const src = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "export * from './c.js';",
      "export { d, type E } from './d.js';",
      "import './e.js';",
      "import {\n  f,\n  g,\n} from './f.js';",
      "const s = \"import { z } from './not-code.js'\"; // import { y } from './comment.js'",
      "const dyn = await import('./dyn.js');",
    ].join('\n');
    expect(importsOf(src)).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js', './f.js', './dyn.js']);
  });

  it('finds every cycle (Tarjan SCC), including self-imports', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['d']], ['e', ['a']]]);
    expect(importCycles(g)).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('has no cycles', () => {
    const graph = srcGraph();
    expect(graph.size).toBeGreaterThan(50);
    const cycles = importCycles(graph);
    const message = cycles.map((scc) => `cycle among ${scc.length} files: ${scc.join(', ')}`).join('\n');
    expect(message).toBe('');
  });
});
