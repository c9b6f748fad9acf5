// Node-only: bundles browser entry files (Graft, WGSL inlined, peers) into ES modules with Vite's build API.

import { build, createLogger } from 'vite';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXTERNALIZED = /Module "([^"]+)" has been externalized for browser compatibility, imported by "([^"]+)"/;

/** What the build left out: Node-only modules that the bundled code imports (as empty stubs) and who imports them. */
export interface BundleReport {
  /** Node-only module → importing files (relative to the repository root). */
  externalized: Map<string, string[]>;
}

/**
 * Builds each entry (`name` → path relative to the repository root) into `outDir/<name>.js`.
 * NOTE: Vite replaces Node built-ins (node:fs...) with stubs that throw only when used; until every io function is
 * bytes-only, the report lists them instead of printing one warning per import.
 */
export async function buildBrowserBundle(entries: Record<string, string>, outDir: string): Promise<BundleReport> {
  const externalized = new Map<string, string[]>();
  const logger = createLogger('warn');
  const warn = logger.warn.bind(logger);
  logger.warn = (msg, options) => {
    const m = EXTERNALIZED.exec(msg);
    if (!m) return warn(msg, options);
    const by = externalized.get(m[1]!) ?? [];
    by.push(m[2]!.startsWith(ROOT) ? m[2]!.slice(ROOT.length) : m[2]!);
    externalized.set(m[1]!, by);
  };
  await build({
    configFile: false,
    root: ROOT,
    customLogger: logger,
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      target: 'es2022',
      reportCompressedSize: false,
      lib: { entry: entries, formats: ['es'], fileName: (_format, name) => `${name}.js` },
    },
  });
  return { externalized };
}
