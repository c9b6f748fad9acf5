// CSVLogger (Keras): one row per epoch (epoch index, then the log keys sorted), appended to a file.

import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Callback, type Logs } from './callback.js';

/** Options of csvLogger(). */
export interface CsvLoggerArgs {
  filename: string;
  /** Default ','. */
  separator?: string;
  /** Append to an existing file (keeping its header) instead of overwriting it (default false). */
  append?: boolean;
}

export class CsvLogger extends Callback {
  private keys: string[] | null = null;
  private trimmed = false;

  constructor(private readonly args: CsvLoggerArgs) {
    super();
  }

  override async onTrainBegin(_logs: Logs = {}): Promise<void> {
    const { filename, append } = this.args;
    mkdirSync(dirname(filename), { recursive: true });
    this.keys = null;
    this.trimmed = false;
    if (append && existsSync(filename)) {
      const header = readFileSync(filename, 'utf8').split('\n')[0];
      if (header) this.keys = header.split(this.args.separator ?? ',').slice(1);
    } else {
      writeFileSync(filename, '');
    }
  }

  /** Appending on a resumed fit: rows of the epochs it redoes (from an interrupted run) are dropped, so each epoch appears once. */
  override async onEpochBegin(epoch: number, _logs: Logs = {}): Promise<void> {
    if (this.trimmed || !this.args.append || !existsSync(this.args.filename)) return;
    this.trimmed = true;
    const sep = this.args.separator ?? ',';
    const lines = readFileSync(this.args.filename, 'utf8').split('\n').filter((l) => l !== '');
    const kept = lines.filter((l, i) => i === 0 || !(Number(l.split(sep)[0]) >= epoch));
    if (kept.length !== lines.length) writeFileSync(this.args.filename, kept.map((l) => `${l}\n`).join(''));
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const sep = this.args.separator ?? ',';
    if (!this.keys) {
      this.keys = Object.keys(logs).sort();
      appendFileSync(this.args.filename, ['epoch', ...this.keys].join(sep) + '\n');
    }
    const row = [String(epoch), ...this.keys.map((k) => (logs[k] === undefined ? 'NA' : String(logs[k])))];
    appendFileSync(this.args.filename, row.join(sep) + '\n');
  }
}
