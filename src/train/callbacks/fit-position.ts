// Where fit is inside a run, precisely enough to continue it: the epoch, the batches of it already consumed, and
// the data-order state that fixes which batches come next (the random stream at the epoch's start, which shuffled
// tensor inputs draw from, and a dataset's epoch counter, which seeds its shuffle).

/** A point in training from which fit can continue exactly. */
export interface FitPosition {
  /** 0-based epoch to continue. */
  epoch: number;
  /** Batches of that epoch already trained on (0: the epoch has not begun). */
  step: number;
  /** The random stream's state when the epoch began (before its shuffle was drawn). */
  epochRngState: number;
  /** The dataset's epoch counter when the epoch began, or null for tensor inputs or plain iterables. */
  dataOrder: number | null;
  /** The random stream's state at this point. */
  rngState: number;
  /** Sums and counts of the epoch's running logs so far (mid-epoch only), so that its epoch logs cover every batch. */
  epochLogs?: { sums: number[]; counts: number[] };
}

/** What fit tells callbacks about its position as it goes (shared through CallbackParams.progress). */
export interface FitProgress {
  /** The position after the batches trained so far, or, with `epochDone`, at the start of the next epoch. */
  position(epochDone: boolean): Promise<FitPosition>;
}

/** A callback that can hand fit a position to continue from (read once, after onTrainBegin). */
export interface ResumeSource {
  takeResumePosition(): FitPosition | null;
}

export function isResumeSource(v: unknown): v is ResumeSource {
  return typeof v === 'object' && v !== null && typeof (v as Partial<ResumeSource>).takeResumePosition === 'function';
}
