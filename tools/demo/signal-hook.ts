// Test-only fault injection, read only by the demo (never by the library): GRAFT_DEMO_SIGNAL_AT=<point>:<n>
// [:SIGINT|SIGINT2|SIGKILL] makes the demo send itself that signal (SIGINT2: Ctrl-C twice) at an exact place, so
// that a test interrupts there instead of racing a file-system poll. <n> counts, from 1, in this process: for the
// epoch-end points its epoch ends (in a fresh run, the epoch); for after-batch the batches it trained (after their
// backup); for mid-write its atomic file writes (the signal comes when half of the temp file is written).

import { setMidWriteHook } from '../../src/node/atomic-write.js';
import type { CallbackHooks } from '../../src/train/index.js';

/** The places where a signal can be injected. */
export const SIGNAL_POINTS = ['epoch-end-begin', 'before-checkpoint', 'after-checkpoint', 'after-epoch-end', 'after-batch', 'mid-write'] as const;
export type SignalPoint = (typeof SIGNAL_POINTS)[number];

/** The environment variable naming the injection point. */
export const SIGNAL_ENV = 'GRAFT_DEMO_SIGNAL_AT';

interface Spec {
  point: SignalPoint;
  n: number;
  signal: 'SIGINT' | 'SIGINT2' | 'SIGKILL';
}

/** Parses the variable's value; throws naming it when malformed. */
export function parseSignalSpec(value: string): Spec {
  const m = /^([a-z-]+):(\d+)(?::(SIGINT2|SIGINT|SIGKILL))?$/.exec(value);
  if (!m || !(SIGNAL_POINTS as readonly string[]).includes(m[1]!)) {
    throw new Error(`${SIGNAL_ENV}='${value}': expected <${SIGNAL_POINTS.join('|')}>:<n>[:SIGINT|SIGINT2|SIGKILL]`);
  }
  return { point: m[1] as SignalPoint, n: Number(m[2]), signal: (m[3] ?? 'SIGINT') as Spec['signal'] };
}

/** Sends the signal to this process; for SIGINT, resolves once the process's SIGINT listeners have run. */
async function raise(signal: Spec['signal']): Promise<void> {
  if (signal === 'SIGKILL') {
    process.kill(process.pid, 'SIGKILL');
    await new Promise<void>(() => {});
  }
  for (let k = signal === 'SIGINT2' ? 2 : 1; k > 0; k--) {
    // NOTE: listeners run in the order they were added, so the demo's own handler has run when this one resolves.
    const delivered = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    // NOTE: signal handles do not keep Node's event loop alive; without this timer it would end before delivery.
    const alive = setInterval(() => {}, 1000);
    process.kill(process.pid, 'SIGINT');
    await delivered.finally(() => clearInterval(alive));
  }
}

const counts: Record<Exclude<SignalPoint, 'mid-write'>, number> = {
  'epoch-end-begin': 0, 'before-checkpoint': 0, 'after-checkpoint': 0, 'after-epoch-end': 0, 'after-batch': 0,
};

function specFor(point: SignalPoint, env: NodeJS.ProcessEnv): Spec | null {
  const value = env[SIGNAL_ENV];
  if (!value) return null;
  const spec = parseSignalSpec(value);
  return spec.point === point ? spec : null;
}

/** A callback that raises the configured signal at `point`, or null when the variable does not ask for this point. */
export function signalHook(point: Exclude<SignalPoint, 'mid-write'>, env: NodeJS.ProcessEnv = process.env): CallbackHooks | null {
  const spec = specFor(point, env);
  if (!spec) return null;
  // NOTE: module-level counts: the demo builds new callbacks for each fit (phase) of the process.
  if (point === 'after-batch') return { onBatchEnd: async () => void (++counts['after-batch'] === spec.n && (await raise(spec.signal))) };
  return { onEpochEnd: async () => void (++counts[point] === spec.n && (await raise(spec.signal))) };
}

/** Installs the mid-write injection when the variable asks for it (call once per process). */
export function installMidWriteHook(env: NodeJS.ProcessEnv = process.env): void {
  const spec = specFor('mid-write', env);
  if (!spec) return;
  let writes = 0;
  setMidWriteHook(async () => {
    if (++writes === spec.n) await raise(spec.signal);
  });
}
