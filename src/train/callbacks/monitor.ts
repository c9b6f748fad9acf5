// The monitored-quantity logic shared by ModelCheckpoint, EarlyStopping and ReduceLROnPlateau.

/** 'auto' picks 'max' for accuracy-like keys (containing 'acc' or starting with 'fmeasure'), 'min' otherwise. */
export type MonitorMode = 'auto' | 'min' | 'max';

/** Resolves 'auto' as Keras does. */
export function resolveMode(mode: MonitorMode, monitor: string): 'min' | 'max' {
  if (mode === 'min' || mode === 'max') return mode;
  if (mode !== 'auto') throw new Error(`Graft callback: mode must be 'auto', 'min' or 'max', got '${mode as string}'`);
  return monitor.includes('acc') || monitor.startsWith('fmeasure') ? 'max' : 'min';
}

/** True when `current` beats `reference` by more than `minDelta` in the mode's direction (Keras' _is_improvement). */
export function improves(mode: 'min' | 'max', current: number, reference: number, minDelta = 0): boolean {
  const d = Math.abs(minDelta);
  return mode === 'min' ? current + d < reference : current - d > reference;
}

/** The starting "best": +Infinity for min, -Infinity for max. */
export function worst(mode: 'min' | 'max'): number {
  return mode === 'min' ? Infinity : -Infinity;
}

/** Warns once per callback that the monitored key is missing (Keras 3 warns and skips). */
export class MissingKeyWarning {
  private warned = false;
  constructor(private readonly who: string) {}
  warn(monitor: string, logs: Record<string, number>, what: string): void {
    if (this.warned) return;
    this.warned = true;
    console.warn(`Graft ${this.who}: ${what} conditioned on metric '${monitor}', which is not available; available metrics are: ${Object.keys(logs).join(', ') || '(none)'}`);
  }
}
