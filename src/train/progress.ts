// The Keras progress line: `235/235 [==============================] - 64s 246ms/step - loss: 0.7262 - val_loss: 0.5123`.

import { platform } from '../platform/platform.js';
import { pyExponential, pyFixed } from './py-number.js';

/** Where progress goes: the platform's output (process.stdout in Node) or anything with write(). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** Options of ProgressBar. */
export interface ProgressBarOptions {
  /** Steps in the epoch, or null when unknown. */
  target: number | null;
  /** 0: silent; 1: a bar (redrawn in place on a TTY, one final line otherwise); 2: one line per epoch. */
  verbose?: 0 | 1 | 2;
  stream?: ProgressStream;
  /** Whether to redraw in place with \r (default: stream.isTTY). */
  isTTY?: boolean;
  /** Bar width in characters (Keras: 30). */
  width?: number;
  /** Minimum ms between redraws on a TTY (Keras: 50). */
  intervalMs?: number;
  /** Unit in the per-unit time (Keras: 'step'). */
  unitName?: string;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** A value as Keras prints it: %.4f, or %.4e when |v| <= 1e-3; strings as they are. */
export function formatLogValue(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Math.abs(v) > 1e-3) return pyFixed(v, 4);
  return pyExponential(v, 4);
}

const fixed0 = (x: number): string => pyFixed(x, 0);

/** Keras' per-unit time: ' 2s/step', ' 246ms/step', ' 87us/step'. */
export function formatTimePerUnit(seconds: number, unit = 'step'): string {
  if (seconds >= 1 || seconds === 0) return ` ${fixed0(seconds)}s/${unit}`;
  if (seconds >= 1e-3) return ` ${fixed0(seconds * 1e3)}ms/${unit}`;
  return ` ${fixed0(seconds * 1e6)}us/${unit}`;
}

function formatEta(eta: number): string {
  if (eta > 3600) return `${Math.floor(eta / 3600)}:${pad2(Math.floor((eta % 3600) / 60))}:${pad2(Math.floor(eta % 60))}`;
  if (eta > 60) return `${Math.floor(eta / 60)}:${pad2(Math.floor(eta % 60))}`;
  return `${Math.floor(eta)}s`;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `Epoch 3/10` for the 0-based epoch index that callbacks receive (epochIndex 2 of 10 epochs). */
export function epochHeader(epochIndex: number, epochs: number): string {
  return `Epoch ${epochIndex + 1}/${epochs}`;
}

/** Writes the epoch header line, as Keras does before each epoch when verbose is 1 or 2. */
export function printEpochHeader(stream: ProgressStream, epochIndex: number, epochs: number): void {
  stream.write(`${epochHeader(epochIndex, epochs)}\n`);
}

// NOTE: Keras' ProgbarLogger drops these bookkeeping keys from the displayed logs.
const HIDDEN = new Set(['batch', 'size']);

/** Keras' Progbar for one epoch: create one per epoch, call update() after each step. */
export class ProgressBar {
  private readonly target: number | null;
  private readonly verbose: 0 | 1 | 2;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly width: number;
  private readonly interval: number;
  private readonly unit: string;
  private readonly now: () => number;
  private readonly start: number;
  private values = new Map<string, number | string>();
  private lastUpdate = 0;
  private afterFirstStep: number | null = null;
  private drawnWidth = 0;
  private finalized = false;

  constructor(o: ProgressBarOptions) {
    if (o.target !== null && !(Number.isInteger(o.target) && o.target > 0)) {
      throw new Error(`Graft ProgressBar: target must be a positive integer or null, got ${o.target}`);
    }
    this.target = o.target;
    this.verbose = o.verbose ?? 1;
    this.stream = o.stream ?? platform().stdout;
    this.tty = o.isTTY ?? this.stream.isTTY ?? false;
    this.width = o.width ?? 30;
    this.interval = o.intervalMs ?? 50;
    this.unit = o.unitName ?? 'step';
    this.now = o.now ?? (() => performance.now());
    this.start = this.now();
  }

  /**
   * Records progress after `step` steps with the current logs (shown as given: fit passes running averages).
   * `finalize` defaults to step >= target, as in Keras' Progbar; the final line is printed once per bar.
   */
  update(step: number, logs: Record<string, number | string> = {}, finalize = this.target !== null && step >= this.target): void {
    if (this.finalized) return;
    for (const [k, v] of Object.entries(logs)) if (!HIDDEN.has(k)) this.values.set(k, v);
    const now = this.now();
    const perUnit = this.estimateStepSeconds(step, now);
    if (finalize) this.finalized = true;
    if (this.verbose === 1) this.drawBar(step, now, perUnit, finalize);
    else if (this.verbose === 2 && finalize) this.drawLine(step, now, perUnit);
  }

  /** Seconds per step, excluding the first step (compilation, warm-up) once there is more than one (Keras). */
  private estimateStepSeconds(step: number, now: number): number {
    if (step <= 0) return 0;
    const t = this.afterFirstStep !== null && step > 1 ? (now - this.afterFirstStep) / (step - 1) : (now - this.start) / step;
    if (step === 1) this.afterFirstStep = now;
    return t / 1000;
  }

  private metrics(): string {
    let s = '';
    for (const [k, v] of this.values) s += ` - ${k}: ${formatLogValue(v)}`;
    return s;
  }

  private count(step: number): string {
    const digits = Math.floor(Math.log10(this.target!)) + 1;
    return `${String(step).padStart(digits)}/${this.target}`;
  }

  private drawBar(step: number, now: number, perUnit: number, finalize: boolean): void {
    if (!finalize && (!this.tty || now - this.lastUpdate < this.interval)) return;
    this.lastUpdate = now;
    let bar: string;
    if (this.target !== null) {
      const done = Math.max(0, Math.floor((this.width * Math.min(step, this.target)) / this.target));
      bar = `${this.count(step)} [`;
      if (done > 0) bar += '='.repeat(done - 1) + (step < this.target ? '>' : '=');
      bar += `${'.'.repeat(this.width - done)}]`;
    } else {
      bar = `${String(step).padStart(7)}/Unknown`;
    }
    let info: string;
    if (this.target === null || finalize) {
      info = ` - ${fixed0((now - this.start) / 1000)}s${formatTimePerUnit(perUnit, this.unit)}`;
    } else {
      info = ` - ETA: ${formatEta(perUnit * (this.target - step))}`;
    }
    info += this.metrics();
    const line = bar + info;
    // NOTE: spaces erase the tail of a longer previous line when redrawing in place.
    const pad = this.tty && this.drawnWidth > line.length ? ' '.repeat(this.drawnWidth - line.length) : '';
    this.drawnWidth = line.length;
    this.stream.write(`${this.tty ? '\r' : ''}${line}${pad}${finalize ? '\n' : ''}`);
  }

  private drawLine(step: number, now: number, perUnit: number): void {
    const count = this.target !== null ? this.count(step) : String(step);
    const line = `${count} - ${fixed0((now - this.start) / 1000)}s -${formatTimePerUnit(perUnit, this.unit)}${this.metrics()}`;
    this.stream.write(`${line}\n`);
  }
}
