// TensorBoard event files: a TFRecord stream of Event protos, opened with file_version "brain.Event:2", written
// through the platform's file store (the file system in Node, OPFS in a browser).

import { platform } from '../../platform/platform.js';
import { joinPath } from '../../platform/paths.js';
import { DATA_CLASS_SCALAR, DT_FLOAT, EventType } from './proto.js';
import { EventFileError, encodeRecord } from './tfrecord.js';

/** Options of EventWriter. */
export interface EventWriterOptions {
  /**
   * 'simple' writes Summary.Value.simple_value (readable by every TensorBoard); 'tensor' writes the TF2 form:
   * a DT_FLOAT scalar tensor with plugin_name 'scalars' metadata.
   */
  scalarStyle?: 'simple' | 'tensor';
  /** Events buffered before an automatic flush (TensorFlow's max_queue). */
  maxQueue?: number;
  /** Buffered events are flushed by the next write after this many ms (TensorFlow's flush_secs). */
  flushMillis?: number;
  /** Appended to the file name. */
  filenameSuffix?: string;
}

let writers = 0;

/**
 * Writes scalars to `<logdir>/events.out.tfevents.<unix seconds>.<host>`. Writes are queued and appended in order;
 * `flush()` and `close()` resolve once everything queued before them is on disk. When the disk fails (e.g. is full),
 * the file keeps its complete records (appends are all or nothing), the events stay queued for the next flush, and
 * the flush rejects with an EventFileError saying what happened.
 */
export class EventWriter {
  /** The event file's path. */
  readonly path: string;
  private closed = false;
  private queue: Uint8Array[] = [];
  /** Records of a failed append, written first by the next flush. */
  private retry: Uint8Array[] = [];
  private lastFlush = Date.now();
  private chain: Promise<void> = Promise.resolve();
  private readonly style: 'simple' | 'tensor';
  private readonly maxQueue: number;
  private readonly flushMillis: number;

  constructor(
    readonly logdir: string,
    options: EventWriterOptions = {},
  ) {
    this.style = options.scalarStyle ?? 'simple';
    this.maxQueue = options.maxQueue ?? 10;
    this.flushMillis = options.flushMillis ?? 120_000;
    // NOTE: the counter keeps two writers of one process in the same second and folder apart.
    const unique = writers++ === 0 ? '' : `.${writers - 1}`;
    this.path = joinPath(logdir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${platform().hostname()}${unique}${options.filenameSuffix ?? ''}`);
    this.push({ wall_time: Date.now() / 1000, step: 0, file_version: 'brain.Event:2' });
    void this.flush().catch(() => undefined);
  }

  /** Logs one scalar at a step. */
  scalar(tag: string, value: number, step: number): void {
    const v: Record<string, unknown> = { tag };
    if (this.style === 'simple') {
      v['simple_value'] = value;
    } else {
      v['metadata'] = { plugin_data: { plugin_name: 'scalars' }, data_class: DATA_CLASS_SCALAR };
      v['tensor'] = { dtype: DT_FLOAT, tensor_shape: {}, float_val: [value] };
    }
    this.push({ wall_time: Date.now() / 1000, step, summary: { value: [v] } });
  }

  /** Appends the buffered events to the file (flushed to disk); resolves when they are written. */
  flush(): Promise<void> {
    this.lastFlush = Date.now();
    const taken = this.queue;
    this.queue = [];
    this.chain = this.chain.catch(() => undefined).then(() => this.append(taken));
    return this.chain;
  }

  /** Appends the records of a failed flush, then `taken`; on failure keeps them all, in order, for the next flush. */
  private async append(taken: Uint8Array[]): Promise<void> {
    const records = [...this.retry, ...taken];
    this.retry = [];
    if (records.length === 0) return;
    const bytes = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
    let off = 0;
    for (const r of records) {
      bytes.set(r, off);
      off += r.length;
    }
    try {
      await platform().files.appendFile(this.path, bytes);
    } catch (e) {
      this.retry = records;
      const problem = (e as Error).message || String(e);
      throw new EventFileError(`Graft EventWriter: ${problem}; ${records.length + this.queue.length} event(s) kept for the next flush, the records written before are intact`);
    }
  }

  /** Resolves when every write started so far (flushes, automatic ones included) has finished. */
  written(): Promise<void> {
    return this.chain;
  }

  /** Flushes and closes the writer; further writes throw. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.chain;
    const done = this.flush();
    this.closed = true;
    return done;
  }

  private push(event: Record<string, unknown>): void {
    if (this.closed) throw new Error(`Graft EventWriter: ${this.path} is closed`);
    const msg = EventType.fromObject(event);
    this.queue.push(encodeRecord(EventType.encode(msg).finish()));
    if (this.queue.length >= this.maxQueue || Date.now() - this.lastFlush >= this.flushMillis) void this.flush().catch(() => undefined);
  }
}
