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

  constructor(private readonly args: CsvLoggerArgs) {
    super();
  }

  override async onTrainBegin(_logs: Logs = {}): Promise<void> {
    const { filename, append } = this.args;
    mkdirSync(dirname(filename), { recursive: true });
    this.keys = null;
    if (append && existsSync(filename)) {
      const header = readFileSync(filename, 'utf8').split('\n')[0];
      if (header) this.keys = header.split(this.args.separator ?? ',').slice(1);
    } else {
      writeFileSync(filename, '');
    }
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
