// CSVLogger (Keras): one row per epoch (epoch index, then the log keys sorted), appended to a file (OPFS in a browser).

import { platform } from '../../platform/platform.js';
import { Callback, type Logs } from './callback.js';

/** Options of csvLogger(). */
export interface CsvLoggerArgs {
  filename: string;
  /** Default ','. */
  separator?: string;
  /** Append to an existing file (keeping its header) instead of overwriting it (default false). */
  append?: boolean;
}

const utf8 = new TextEncoder();

export class CsvLogger extends Callback {
  private keys: string[] | null = null;
  private trimmed = false;

  constructor(private readonly args: CsvLoggerArgs) {
    super();
  }

  override async onTrainBegin(_logs: Logs = {}): Promise<void> {
    const { filename, append } = this.args;
    const files = platform().files;
    this.keys = null;
    this.trimmed = false;
    if (append && (await files.fileSize(filename)) !== null) {
      const header = new TextDecoder().decode(await files.readFile(filename)).split('\n')[0];
      if (header) this.keys = header.split(this.args.separator ?? ',').slice(1);
    } else {
      await files.writeFileAtomic(filename, new Uint8Array(0));
    }
  }

  /** Appending on a resumed fit: rows of the epochs it redoes (from an interrupted run) are dropped, so each epoch appears once. */
  override async onEpochBegin(epoch: number, _logs: Logs = {}): Promise<void> {
    const files = platform().files;
    const { filename, append } = this.args;
    if (this.trimmed || !append || (await files.fileSize(filename)) === null) return;
    this.trimmed = true;
    const sep = this.args.separator ?? ',';
    const lines = new TextDecoder().decode(await files.readFile(filename)).split('\n').filter((l) => l !== '');
    const kept = lines.filter((l, i) => i === 0 || !(Number(l.split(sep)[0]) >= epoch));
    if (kept.length !== lines.length) await files.writeFileAtomic(filename, utf8.encode(kept.map((l) => `${l}\n`).join('')));
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const sep = this.args.separator ?? ',';
    let text = '';
    if (!this.keys) {
      this.keys = Object.keys(logs).sort();
      text += ['epoch', ...this.keys].join(sep) + '\n';
    }
    const row = [String(epoch), ...this.keys.map((k) => (logs[k] === undefined ? 'NA' : String(logs[k])))];
    await platform().files.appendFile(this.args.filename, utf8.encode(text + row.join(sep) + '\n'));
  }
}
