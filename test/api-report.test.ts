// The committed API report (api/graft.api.md) matches the public API as it is now; regenerate with `npm run api`.
import { describe, expect, it } from 'vitest';
import { apiReport, committedReport } from '../tools/api-report.js';

/** Lines removed (-) and added (+) going from `before` to `after`, each with its line number. */
function lineDiff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const inA = new Set(a);
  const inB = new Set(b);
  return [
    ...a.flatMap((l, i) => (inB.has(l) ? [] : [`- ${i + 1}: ${l}`])),
    ...b.flatMap((l, i) => (inA.has(l) ? [] : [`+ ${i + 1}: ${l}`])),
  ].join('\n');
}

describe('API report', () => {
  it('api/graft.api.md is what tools/api-report.ts writes for src/index.ts today (else: npm run api)', () => {
    const fresh = apiReport();
    expect(fresh).toContain('- class Tensor');
    expect(fresh).toContain('- namespace layers');
    const committed = committedReport();
    const diff = lineDiff(committed, fresh);
    expect(diff, `the public API changed; review and run \`npm run api\`:\n${diff}`).toBe('');
    expect(committed).toBe(fresh);
  });
});
