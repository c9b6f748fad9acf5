// Test-only fault injection, read only by the demo (never by the library): GRAFT_DEMO_SIGNAL_AT=<point>:<epoch>
// [:SIGINT|SIGINT2|SIGKILL] makes the demo send itself that signal when it reaches <point> at the end of 1-based epoch
// <epoch> (SIGINT2: Ctrl-C twice), so that a test interrupts at an exact place instead of racing a file-system poll.

import type { CallbackHooks } from '../../src/train/index.js';

/** The places at an epoch end where a signal can be injected, in the order the demo passes them. */
export const SIGNAL_POINTS = ['epoch-end-begin', 'before-checkpoint', 'after-checkpoint', 'after-epoch-end'] as const;
export type SignalPoint = (typeof SIGNAL_POINTS)[number];

/** The environment variable naming the injection point. */
export const SIGNAL_ENV = 'GRAFT_DEMO_SIGNAL_AT';

interface Spec {
  point: SignalPoint;
  epoch: number;
  signal: 'SIGINT' | 'SIGINT2' | 'SIGKILL';
}

/** Parses the variable's value; throws naming it when malformed. */
export function parseSignalSpec(value: string): Spec {
  const m = /^([a-z-]+):(\d+)(?::(SIGINT2|SIGINT|SIGKILL))?$/.exec(value);
  if (!m || !(SIGNAL_POINTS as readonly string[]).includes(m[1]!)) {
    throw new Error(`${SIGNAL_ENV}='${value}': expected <${SIGNAL_POINTS.join('|')}>:<epoch>[:SIGINT|SIGINT2|SIGKILL]`);
  }
  return { point: m[1] as SignalPoint, epoch: Number(m[2]), signal: (m[3] ?? 'SIGINT') as Spec['signal'] };
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

/** A callback that raises the configured signal at `point`, or null when the variable does not ask for this point. */
export function signalHook(point: SignalPoint, env: NodeJS.ProcessEnv = process.env): CallbackHooks | null {
  const value = env[SIGNAL_ENV];
  if (!value) return null;
  const spec = parseSignalSpec(value);
  if (spec.point !== point) return null;
  return {
    onEpochEnd: async (epoch) => {
      if (epoch + 1 === spec.epoch) await raise(spec.signal);
    },
  };
}
