// TensorBoard event files: a TFRecord stream of Event protos, opened with file_version "brain.Event:2".

import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { checkWriteFault, describeWriteError } from '../atomic-write.js';
import { DATA_CLASS_SCALAR, DT_FLOAT, EventType } from './proto.js';
import { encodeRecord, EventFileError } from './tfrecord.js';

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

/** Writes scalars to `<logdir>/events.out.tfevents.<unix seconds>.<host>` (created at construction). */
export class EventWriter {
  /** The event file's path. */
  readonly path: string;
  private fd: number | null;
  private queue: Uint8Array[] = [];
  /** Bytes of complete records on disk: a failed flush cuts the file back to this. */
  private written = 0;
  private lastFlush = Date.now();
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
    mkdirSync(logdir, { recursive: true });
    const base = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}${options.filenameSuffix ?? ''}`;
    let path = join(logdir, base);
    // NOTE: two writers in the same second and folder must not share a file.
    for (let k = 1; existsSync(path); k++) path = join(logdir, `${base}.${process.pid}.${k}`);
    this.path = path;
    this.fd = openSync(path, 'wx');
    try {
      this.push({ wall_time: Date.now() / 1000, step: 0, file_version: 'brain.Event:2' });
      this.flush();
    } catch (e) {
      // NOTE: a writer that cannot write its header is unusable; do not leak its descriptor.
      closeSync(this.fd);
      this.fd = null;
      throw e;
    }
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

  /**
   * Writes buffered events and syncs the file to disk. When the disk fails (e.g. is full), the file is cut back to
   * its last complete record, the events stay queued for the next flush, and an EventFileError says what happened.
   */
  flush(): void {
    const fd = this.openFd();
    let pos = this.written;
    try {
      for (const rec of this.queue) {
        let off = 0;
        while (off < rec.length) {
          checkWriteFault(this.path, pos + off, rec.length - off);
          off += writeSync(fd, rec, off, rec.length - off, pos + off);
        }
        pos += rec.length;
      }
      fsyncSync(fd);
    } catch (e) {
      // NOTE: a partly written record would make every later record unreadable; drop the partial bytes.
      try {
        ftruncateSync(fd, this.written);
      } catch {
        // NOTE: nothing more to do; the reader reports a truncated last record by its offset.
      }
      const problem = describeWriteError(e, this.path) ?? `writing ${this.path} failed: ${(e as Error).message}`;
      throw new EventFileError(`Graft EventWriter: ${problem}; ${this.queue.length} event(s) kept for the next flush, the ${this.written} bytes written before are intact`);
    }
    this.written = pos;
    this.queue = [];
    this.lastFlush = Date.now();
  }

  /** Flushes and closes the file; further writes throw. Idempotent. */
  close(): void {
    if (this.fd === null) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private push(event: Record<string, unknown>): void {
    this.openFd();
    const msg = EventType.fromObject(event);
    this.queue.push(encodeRecord(EventType.encode(msg).finish()));
    if (this.queue.length >= this.maxQueue || Date.now() - this.lastFlush >= this.flushMillis) this.flush();
  }

  private openFd(): number {
    if (this.fd === null) throw new Error(`Graft EventWriter: ${this.path} is closed`);
    return this.fd;
  }
}
