// TensorBoard event files: CRC-32C check values, TFRecord framing, Event encoding, writer/reader round trip.

import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32c, maskedCrc32c } from '../src/io/tensorboard/crc32c.js';
import { decodeRecords, encodeRecord } from '../src/io/tensorboard/tfrecord.js';
import { EventType } from '../src/io/tensorboard/proto.js';
import { EventWriter } from '../src/io/tensorboard/event-writer.js';
import { parseEvents, scalarsOf } from '../src/io/tensorboard/event-reader.js';
import { readEvents } from '../src/node/tensorboard-files.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('CRC-32C', () => {
  it('gives the standard check value and the RFC 3720 test vectors', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('continues across chunks', () => {
    expect(crc32c(ascii('56789'), crc32c(ascii('1234')))).toBe(0xe3069283);
  });

  it('masks as TFRecord does', () => {
    const c = 0xe3069283;
    const rotated = ((c >>> 15) | (c << 17)) >>> 0;
    expect(maskedCrc32c(ascii('123456789'))).toBe((rotated + 0xa282ead8) % 2 ** 32);
  });
});

describe('TFRecord framing', () => {
  it('lays out length, length CRC, data, data CRC', () => {
    const data = ascii('hello');
    const rec = encodeRecord(data);
    const dv = new DataView(rec.buffer);
    expect(rec.length).toBe(8 + 4 + 5 + 4);
    expect(dv.getBigUint64(0, true)).toBe(5n);
    expect(dv.getUint32(8, true)).toBe(maskedCrc32c(rec.subarray(0, 8)));
    expect(new TextDecoder().decode(rec.subarray(12, 17))).toBe('hello');
    expect(dv.getUint32(17, true)).toBe(maskedCrc32c(data));
  });

  it('round-trips several records and detects corruption and truncation', () => {
    const parts = [ascii('a'), new Uint8Array(0), ascii('third record')];
    const stream = new Uint8Array(parts.reduce((n, p) => n + p.length + 16, 0));
    let off = 0;
    for (const p of parts) {
      stream.set(encodeRecord(p), off);
      off += p.length + 16;
    }
    expect(decodeRecords(stream).map((r) => new TextDecoder().decode(r))).toEqual(['a', '', 'third record']);
    const badData = stream.slice();
    badData[stream.length - 6]! ^= 1;
    expect(() => decodeRecords(badData, 'f')).toThrow(/f: record 2 at byte 33: data CRC mismatch/);
    const badLen = stream.slice();
    badLen[0]! ^= 4;
    expect(() => decodeRecords(badLen, 'f')).toThrow(/record 0 at byte 0: length CRC mismatch/);
    expect(() => decodeRecords(stream.subarray(0, stream.length - 2), 'f')).toThrow(/record 2 at byte 33: length 12 runs past the end/);
  });
});

describe('Event protos', () => {
  it('encode with TensorFlow field numbers (checked against hand-assembled wire bytes)', () => {
    const msg = EventType.fromObject({ wall_time: 1.5, step: 3, summary: { value: [{ tag: 'loss', simple_value: 0.25 }] } });
    const got = Array.from(EventType.encode(msg).finish());
    const f64 = new Uint8Array(new Float64Array([1.5]).buffer);
    const f32 = new Uint8Array(new Float32Array([0.25]).buffer);
    // value: tag (field 1, len) 'loss', simple_value (field 2, fixed32)
    const value = [0x0a, 4, ...ascii('loss'), 0x15, ...f32];
    const summary = [0x0a, value.length, ...value];
    const want = [0x09, ...f64, 0x10, 3, 0x2a, summary.length, ...summary];
    expect(got).toEqual(want);
  });
});

describe('EventWriter and readEvents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'graft-tb-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a file_version event then scalar summaries that read back', async () => {
    const logdir = join(dir, 'train');
    const w = new EventWriter(logdir);
    expect(w.path).toMatch(/events\.out\.tfevents\.\d+\.[^/]+$/);
    w.scalar('epoch_loss', 0.75, 0);
    w.scalar('epoch_accuracy', 0.5, 0);
    w.scalar('epoch_loss', 0.5, 1);
    await w.close();
    const events = readEvents(w.path);
    expect(events[0]!.fileVersion).toBe('brain.Event:2');
    expect(events[0]!.values).toBeUndefined();
    expect(events.length).toBe(4);
    const now = Date.now() / 1000;
    for (const e of events) expect(Math.abs(e.wallTime - now)).toBeLessThan(60);
    expect(scalarsOf(events).map(({ tag, step, value }) => [tag, step, value])).toEqual([
      ['epoch_loss', 0, 0.75],
      ['epoch_accuracy', 0, 0.5],
      ['epoch_loss', 1, 0.5],
    ]);
    expect(events[1]!.values![0]!.kind).toBe('simple_value');
    expect(() => w.scalar('x', 1, 2)).toThrow(/is closed/);
  });

  it('writes the TF2 tensor form with the scalars plugin', async () => {
    const w = new EventWriter(join(dir, 'tf2'), { scalarStyle: 'tensor' });
    w.scalar('epoch_loss', 1.25, 7);
    await w.close();
    const [, e] = readEvents(w.path);
    expect(e!.step).toBe(7);
    expect(e!.values).toEqual([{ tag: 'epoch_loss', value: 1.25, kind: 'tensor', pluginName: 'scalars' }]);
  });

  it('flushes on flush() and every maxQueue events, and two writers never share a file', async () => {
    const logdir = join(dir, 'queue');
    const w = new EventWriter(logdir, { maxQueue: 3 });
    const w2 = new EventWriter(logdir);
    expect(w2.path).not.toBe(w.path);
    w.scalar('a', 1, 1);
    await w.written();
    expect(readEvents(w.path).length).toBe(1);
    w.scalar('a', 2, 2);
    w.scalar('a', 3, 3);
    await w.written();
    expect(readEvents(w.path).length).toBe(4);
    w.scalar('a', 4, 4);
    await w.written();
    expect(readEvents(w.path).length).toBe(4);
    await w.flush();
    expect(readEvents(w.path).length).toBe(5);
    await w.close();
    await w2.close();
    expect(readdirSync(logdir).length).toBe(2);
  });

  it('reports a corrupted file by name', async () => {
    const w = new EventWriter(join(dir, 'corrupt'));
    w.scalar('loss', 1, 1);
    await w.close();
    const bytes = readFileSync(w.path);
    bytes[bytes.length - 8]! ^= 0xff;
    writeFileSync(w.path, bytes);
    expect(() => readEvents(w.path)).toThrow(new RegExp(`${w.path.replace(/[.]/g, '\\.')}: record 1 .*data CRC mismatch`));
    expect(() => parseEvents(encodeRecord(new Uint8Array([0xff, 0xff])), 'x')).toThrow(/x: record 0 is not an Event/);
  });
});
