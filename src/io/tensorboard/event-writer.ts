// TensorBoard event files: a TFRecord stream of Event protos, opened with file_version "brain.Event:2".

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DATA_CLASS_SCALAR, DT_FLOAT, EventType } from './proto.js';
import { encodeRecord } from './tfrecord.js';

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
    this.push({ wall_time: Date.now() / 1000, step: 0, file_version: 'brain.Event:2' });
    this.flush();
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

  /** Writes buffered events and syncs the file to disk. */
  flush(): void {
    const fd = this.openFd();
    for (const rec of this.queue) {
      let off = 0;
      while (off < rec.length) off += writeSync(fd, rec, off, rec.length - off);
    }
    this.queue = [];
    fsyncSync(fd);
    this.lastFlush = Date.now();
  }

  /** Flushes and closes the file; further writes throw. Idempotent. */
  close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
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
