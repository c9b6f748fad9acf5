// Callbacks: async hooks with no-op defaults (tfjs names), the list that runs them, and History.

import type { Logs, TrainingModel } from '../training-model.js';

export type { Logs };
import type { FitProgress } from './fit-position.js';

/** Logs: metric name -> value (`loss`, `accuracy`, `val_loss`, ...). */

/** What fit tells callbacks before training starts. */
export interface CallbackParams {
  /** Index of the last epoch (Keras: `epochs`). */
  epochs: number;
  /** The first epoch run (Keras: `initialEpoch`). */
  initialEpoch: number;
  /** Batches per epoch, when known. */
  steps: number | null;
  /** Progress output: 0 silent, 1 progress bar, 2 one line per epoch. */
  verbose: 0 | 1 | 2;
  /** fit's position as it goes (for callbacks that back training up); absent outside fit. */
  progress?: FitProgress;
}

/** The hooks a callback may implement; each may be async. */
export interface CallbackHooks {
  /** Before the first epoch. */
  onTrainBegin?(logs: Logs): void | Promise<void>;
  /** After the last epoch (also after an early stop). */
  onTrainEnd?(logs: Logs): void | Promise<void>;
  /** `epoch` is 0-based, as in Keras. */
  onEpochBegin?(epoch: number, logs: Logs): void | Promise<void>;
  /** After an epoch and its validation; logs hold the epoch's means (`loss`, `val_loss`, ...). */
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  /** `batch` is the 0-based index within the epoch. */
  onBatchBegin?(batch: number, logs: Logs): void | Promise<void>;
  /** Logs hold running means over the epoch so far. */
  onBatchEnd?(batch: number, logs: Logs): void | Promise<void>;
  /** Before the validation (or evaluate) pass. */
  onTestBegin?(logs: Logs): void | Promise<void>;
  /** After the validation (or evaluate) pass. */
  onTestEnd?(logs: Logs): void | Promise<void>;
}

/** Base class of the callbacks: every hook is an async no-op, subclasses override what they need (Keras `Callback`). */
export class Callback implements Required<CallbackHooks> {
  /** The model being trained (set by fit). */
  model: TrainingModel | null = null;
  /** What fit told the callback (set by fit). */
  params: CallbackParams | null = null;

  /** Called by fit before training. */
  setModel(model: TrainingModel): void {
    this.model = model;
  }

  /** Called by fit before training. */
  setParams(params: CallbackParams): void {
    this.params = params;
  }

  /** The model; throws when the callback is used outside fit. */
  protected get trainedModel(): TrainingModel {
    if (!this.model) throw new Error(`Graft ${this.constructor.name}: no model (the callback runs only inside fit)`);
    return this.model;
  }

  /** See CallbackHooks.onTrainBegin. */
  async onTrainBegin(_logs: Logs): Promise<void> {}
  /** See CallbackHooks.onTrainEnd. */
  async onTrainEnd(_logs: Logs): Promise<void> {}
  /** See CallbackHooks.onEpochBegin. */
  async onEpochBegin(_epoch: number, _logs: Logs): Promise<void> {}
  /** See CallbackHooks.onEpochEnd. */
  async onEpochEnd(_epoch: number, _logs: Logs): Promise<void> {}
  /** See CallbackHooks.onBatchBegin. */
  async onBatchBegin(_batch: number, _logs: Logs): Promise<void> {}
  /** See CallbackHooks.onBatchEnd. */
  async onBatchEnd(_batch: number, _logs: Logs): Promise<void> {}
  /** See CallbackHooks.onTestBegin. */
  async onTestBegin(_logs: Logs): Promise<void> {}
  /** See CallbackHooks.onTestEnd. */
  async onTestEnd(_logs: Logs): Promise<void> {}
}

/** Wraps a plain object of hooks (a custom callback) as a Callback. */
class HookCallback extends Callback {
  constructor(private readonly hooks: CallbackHooks) {
    super();
  }
  override async onTrainBegin(l: Logs) { await this.hooks.onTrainBegin?.(l); }
  override async onTrainEnd(l: Logs) { await this.hooks.onTrainEnd?.(l); }
  override async onEpochBegin(e: number, l: Logs) { await this.hooks.onEpochBegin?.(e, l); }
  override async onEpochEnd(e: number, l: Logs) { await this.hooks.onEpochEnd?.(e, l); }
  override async onBatchBegin(b: number, l: Logs) { await this.hooks.onBatchBegin?.(b, l); }
  override async onBatchEnd(b: number, l: Logs) { await this.hooks.onBatchEnd?.(b, l); }
  override async onTestBegin(l: Logs) { await this.hooks.onTestBegin?.(l); }
  override async onTestEnd(l: Logs) { await this.hooks.onTestEnd?.(l); }
}

/** Runs a list of callbacks in order. */
export class CallbackList {
  /** The callbacks, hook objects wrapped as Callback instances. */
  readonly callbacks: Callback[];

  constructor(items: readonly (Callback | CallbackHooks)[], model: TrainingModel, params: CallbackParams) {
    this.callbacks = items.map((c) => (c instanceof Callback ? c : new HookCallback(c)));
    for (const c of this.callbacks) {
      c.setModel(model);
      c.setParams(params);
    }
  }

  async trainBegin(logs: Logs = {}) { for (const c of this.callbacks) await c.onTrainBegin(logs); }
  async trainEnd(logs: Logs = {}) { for (const c of this.callbacks) await c.onTrainEnd(logs); }
  async epochBegin(e: number, logs: Logs = {}) { for (const c of this.callbacks) await c.onEpochBegin(e, logs); }
  async epochEnd(e: number, logs: Logs) { for (const c of this.callbacks) await c.onEpochEnd(e, logs); }
  async batchBegin(b: number, logs: Logs = {}) { for (const c of this.callbacks) await c.onBatchBegin(b, logs); }
  async batchEnd(b: number, logs: Logs) { for (const c of this.callbacks) await c.onBatchEnd(b, logs); }
  async testBegin(logs: Logs = {}) { for (const c of this.callbacks) await c.onTestBegin(logs); }
  async testEnd(logs: Logs) { for (const c of this.callbacks) await c.onTestEnd(logs); }
}

/** Records the epoch logs; fit returns it. */
export class History extends Callback {
  /** Epoch indices (0-based) in the order they ran. */
  readonly epoch: number[] = [];
  /** Per log key, one value per epoch. */
  readonly history: Record<string, number[]> = {};

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }
}
