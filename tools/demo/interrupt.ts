// Ctrl-C during training: between epoch ends the demo exits at once; once an epoch's end has begun, it first lets
// every callback's onEpochEnd of that epoch finish (logs, then the checkpoint), so that no checkpoint claims an
// epoch the logs lack. A second Ctrl-C exits at once.

import type { CallbackHooks } from '../../src/train/index.js';

/** What the guard does when it is time to exit. */
export interface InterruptActions {
  /** Prints what is on disk and how to continue, then exits; `forced`: the epoch end was cut short (second Ctrl-C). */
  exit: (forced: { epoch: number } | null) => never | void;
  /** Prints a line. */
  log: (line: string) => void;
}

/**
 * Tracks whether an epoch end is in progress. Put `begin` first and `end` last among the callbacks, and call
 * `interrupt()` from the SIGINT handler.
 */
export class EpochEndGuard {
  /** 0-based epoch whose end is running, or null between epoch ends. */
  private current: number | null = null;
  private pending = false;

  constructor(private readonly actions: InterruptActions) {}

  /** The first callback: marks the epoch end as begun. */
  readonly begin: CallbackHooks = {
    onEpochEnd: (epoch) => void (this.current = epoch),
  };

  /** The last callback: marks it finished, and exits if a Ctrl-C came meanwhile. */
  readonly end: CallbackHooks = {
    onEpochEnd: () => {
      this.current = null;
      if (this.pending) this.actions.exit(null);
    },
  };

  /** Handles one Ctrl-C. */
  interrupt(): void {
    if (this.current === null) {
      this.actions.exit(null);
    } else if (this.pending) {
      this.actions.exit({ epoch: this.current });
    } else {
      this.pending = true;
      this.actions.log(`\nInterrupted at the end of epoch ${this.current + 1}: finishing its logs and checkpoint first (Ctrl-C again to exit now).`);
    }
  }
}
