// Node: the tuner's choices in a JSON file (GRAFT_TUNE_CACHE, default ~/.cache/graft/tune.json), and GRAFT_TUNE.

import { mkdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { configureTuner, encodeTuneChoices, parseTuneChoices, type TuneStore } from '../gpu/tuner.js';

/** A TuneStore in a JSON file; a missing file is an empty store, a corrupt one an error naming it. */
export function fileTuneStore(path: string): TuneStore {
  return {
    async load() {
      const info = await stat(path).catch(() => null);
      if (!info) return {};
      // NOTE: parseTuneChoices checks the size too; stat first so a huge file is never read.
      if (info.size > 1 << 20) throw new Error(`Graft tuner: ${path} is ${info.size} bytes, above the 1048576-byte limit`);
      return parseTuneChoices(new Uint8Array(await readFile(path)), path);
    },
    async save(choices) {
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, encodeTuneChoices(choices));
    },
  };
}

/** The cache file the environment names (GRAFT_TUNE_CACHE), or ~/.cache/graft/tune.json. */
export function tuneCachePath(env: Record<string, string | undefined> = process.env): string {
  return env['GRAFT_TUNE_CACHE'] || join(homedir(), '.cache', 'graft', 'tune.json');
}

/** Configures the tuner from GRAFT_TUNE ('on' or 'off', default 'off') and GRAFT_TUNE_CACHE; throws on other values. */
export function configureTunerFromEnv(env: Record<string, string | undefined> = process.env): 'on' | 'off' {
  const mode = env['GRAFT_TUNE'] ?? 'off';
  if (mode !== 'on' && mode !== 'off') throw new Error(`Graft: GRAFT_TUNE must be 'on' or 'off', got '${mode}'`);
  configureTuner({ mode, store: mode === 'on' ? fileTuneStore(tuneCachePath(env)) : null });
  return mode;
}
