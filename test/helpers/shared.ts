// Where the tests find the read-only shared data (real weights, Food-101 images, photos): ../shared beside the
// repository, or GRAFT_SHARED_DIR. Tests that need it skip with a printed reason when it is absent, so the suite
// passes from a clean clone (check: GRAFT_SHARED_DIR=/nonexistent npx vitest run).

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The shared data folder: $GRAFT_SHARED_DIR, else ../shared next to the repository. */
export const SHARED_DIR = resolve(process.env['GRAFT_SHARED_DIR'] || join(import.meta.dirname, '..', '..', '..', 'shared'));

/** A path inside the shared data folder. */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/**
 * Null when every path exists, else the reason to skip (printed once, prefixed by `what`), naming the first missing
 * path and how to point the tests elsewhere.
 */
export function sharedSkipReason(what: string, ...paths: string[]): string | null {
  const missing = paths.find((p) => !existsSync(p));
  if (missing === undefined) return null;
  const reason = `${what}: skipped, ${missing} is absent (shared data not found at ${SHARED_DIR}; set GRAFT_SHARED_DIR to its folder)`;
  console.log(reason);
  return reason;
}
