// Fuzzing the byte-level readers of .npy, safetensors (a model.save checkpoint) and TensorBoard event files:
// seeded bit flips, byte overwrites, truncations, splices, huge size fields, and format-aware corruptions that
// get past the first line of defence (a .npy header dict, a safetensors JSON header re-encoded with its length,
// TFRecord payloads re-framed with valid CRCs). Every case must load or end in the module's own error naming the
// file; never a TypeError/RangeError, printed output, or a result much larger than the file.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeNpy, NpyError, parseNpy } from '../src/io/npy.js';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../src/io/safetensors.js';
import { EventWriter } from '../src/io/tensorboard/event-writer.js';
import { parseEvents } from '../src/io/tensorboard/event-reader.js';
import { decodeRecords, encodeRecord, EventFileError } from '../src/io/tensorboard/tfrecord.js';
import { input, layers, setSeed } from '../src/nn/index.js';
import { loadModel, model } from '../src/train/index.js';
import { byteCases, HUGE_VALUES, picker, runFuzz, summarize, typedBytes, type FuzzCase, type Pick } from './helpers/fuzz.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const tmp = mkdtempSync(join(tmpdir(), 'graft-fuzz-'));
const spies = [vi.spyOn(console, 'log'), vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')];
const printed = () => spies.reduce((n, s) => n + s.mock.calls.length, 0);
const log: string[] = [];
beforeAll(() => spies.forEach((s) => s.mockClear()));
afterAll(() => {
  spies.forEach((s) => s.mockRestore());
  console.log(log.join('\n'));
});

const HUGE_TEXT = ['9007199254740993', '18446744073709551616', '4294967296', '2147483648', '0', '-1', '1e9', '99999999999999999999999'];
const hugeNumber = (pick: Pick): number => Number(HUGE_VALUES[pick(HUGE_VALUES.length)]!) * (pick(6) === 0 ? -1 : 1);

describe('.npy fuzzing', () => {
  const valid = [
    encodeNpy({ dtype: 'float32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) }),
    encodeNpy({ dtype: 'int64', shape: [5], data: BigInt64Array.from([1n, -2n, 3n, 2n ** 40n, 0n]) }),
    encodeNpy({ dtype: 'bool', shape: [2, 2, 2], data: new Uint8Array(8).fill(1) }),
    encodeNpy({ dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) }),
    encodeNpy({ dtype: 'int32', shape: [2, 0, 3], data: new Int32Array(0) }),
  ];

  /** A header dict rewritten: a shape entry, the descr, fortran_order or a key removed. */
  function headerCase(pick: Pick): Uint8Array {
    const shapes = [`(${HUGE_TEXT[pick(8)]}, ${HUGE_TEXT[pick(8)]})`, `(${HUGE_TEXT[pick(8)]},)`, '(3, 4', '(3, x)', '()', '(2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2)'];
    const descrs = ['<f4', '>f4', '<f2', '|O', '<U8', '<i8', '|b1', '', "<f4', 'x': '"];
    const parts = [`'descr': '${descrs[pick(descrs.length)]}'`, `'fortran_order': ${pick(4) === 0 ? 'True' : 'False'}`, `'shape': ${shapes[pick(shapes.length)]}`];
    if (pick(5) === 0) parts.splice(pick(3), 1);
    const dict = `{${parts.join(', ')}, }`;
    const body = new Uint8Array(pick(4) === 0 ? 0 : 48).fill(7);
    const headerLen = Math.ceil((10 + dict.length + 1) / 64) * 64 - 10;
    const out = new Uint8Array(10 + headerLen + body.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, headerLen, true);
    out.set(new TextEncoder().encode(dict.padEnd(headerLen - 1, ' ') + '\n'), 10);
    out.set(body, 10 + headerLen);
    return out;
  }

  it('1,000 byte-level and 500 header cases: a correct load or an NpyError naming the file', () => {
    const pick = picker(33);
    function* cases(): Generator<FuzzCase> {
      yield* byteCases(31, 1000, valid, (b) => [{ offset: 8, width: b[6] === 1 ? 2 : 4 }]);
      for (let i = 0; i < 500; i++) yield { kind: 'structured', bytes: headerCase(pick) };
    }
    const r = runFuzz(cases(), {
      parse: (b) => parseNpy(b, 'fuzz.npy'),
      isOwnError: (e) => e instanceof NpyError && e.message.includes('fuzz.npy'),
      retainedBytes: typedBytes,
      factor: 1,
    });
    log.push(summarize('.npy', r));
    expect(r.defects).toEqual([]);
    expect(r.loaded).toBeGreaterThan(50);
    expect(r.rejected).toBeGreaterThan(500);
    expect(printed()).toBe(0);
  });
});

describe('safetensors fuzzing', () => {
  let checkpoint: Uint8Array;
  beforeAll(async () => {
    setSeed(4);
    const x = input({ shape: [6] });
    const m = model({ inputs: x, outputs: layers.dense({ units: 3, activation: 'softmax' }).apply(layers.dense({ units: 5, activation: 'relu' }).apply(x)) });
    m.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const path = join(tmp, 'model.safetensors');
    await m.save(path);
    m.dispose();
    checkpoint = new Uint8Array(readFileSync(path));
  });
  const others = () => [
    checkpoint,
    encodeSafetensors([
      { name: 'i64', shape: [2], dtype: 'I64', data: BigInt64Array.from([1n, 2n]) },
      { name: 'h', shape: [3], dtype: 'F16', data: Uint16Array.from([0x3c00, 0, 0x7c00]) },
      { name: 'empty', shape: [0, 4], dtype: 'F32', data: new Float32Array(0) },
    ], { note: 'x' }),
  ];

  /** The JSON header decoded, one field corrupted, encoded again with a correct length prefix. */
  function headerCase(bytes: Uint8Array, pick: Pick): Uint8Array {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, Record<string, unknown>>;
    const names = Object.keys(header);
    const name = names[pick(names.length)]!;
    const entry = header[name]!;
    const what = pick(8);
    const weird = [hugeNumber(pick), -1, 1.5, '3', null, [], {}, 2 ** 53][pick(8)];
    if (name === '__metadata__') entry[Object.keys(entry)[0] ?? 'k'] = pick(2) === 0 ? weird : '{"not": "a config"';
    else if (what === 0) entry['dtype'] = ['F64', 'BF16', 'U8', 'BOOL', 'f32', 7][pick(6)];
    else if (what === 1 && Array.isArray(entry['shape'])) (entry['shape'] as unknown[])[pick(Math.max(1, (entry['shape'] as unknown[]).length))] = weird;
    else if (what === 2) (entry['data_offsets'] as unknown[])[pick(2)] = weird;
    else if (what === 3) entry['data_offsets'] = [(entry['data_offsets'] as number[])[1], (entry['data_offsets'] as number[])[0]];
    else if (what === 4) header[name] = weird as Record<string, unknown>;
    else if (what === 5) delete entry[['dtype', 'shape', 'data_offsets'][pick(3)]!];
    else if (what === 6) entry['shape'] = [hugeNumber(pick), hugeNumber(pick), 0];
    else header[`${name}_copy`] = { ...entry };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const data = bytes.subarray(8 + n);
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  }

  it('1,000 byte-level and 500 header cases: a correct load or a SafetensorsError naming the file', () => {
    const valid = others();
    const pick = picker(44);
    function* cases(): Generator<FuzzCase> {
      yield* byteCases(41, 1000, valid, () => [{ offset: 0, width: 8 }]);
      for (let i = 0; i < 500; i++) yield { kind: 'structured', bytes: headerCase(valid[pick(valid.length)]!, pick) };
    }
    const r = runFuzz(cases(), {
      parse: (b) => decodeSafetensors(b, 'fuzz.safetensors'),
      isOwnError: (e) => e instanceof SafetensorsError && e.message.includes('fuzz.safetensors'),
      retainedBytes: (f) => typedBytes(f.tensors),
      factor: 1,
    });
    log.push(summarize('safetensors', r));
    expect(r.defects).toEqual([]);
    expect(r.loaded).toBeGreaterThan(50);
    expect(r.rejected).toBeGreaterThan(500);
    expect(printed()).toBe(0);
  });

  it('loadModel on 150 corrupted checkpoints: a model or a Graft error naming the file', async () => {
    const pick = picker(55);
    const defects: string[] = [];
    let loaded = 0;
    for (let i = 0; i < 150; i++) {
      const path = join(tmp, `c${i}.safetensors`);
      writeFileSync(path, i % 2 === 0 ? headerCase(checkpoint, pick) : byteCases(56 + i, 1, [checkpoint]).next().value!.bytes);
      try {
        (await loadModel(path)).dispose();
        loaded++;
      } catch (e) {
        const err = e as Error;
        const own = err?.constructor === Error || err instanceof SafetensorsError;
        if (!own || !err.message.startsWith('Graft') || !err.message.includes(path)) defects.push(`${path}: ${err?.constructor?.name}: ${err?.message}`);
      }
    }
    log.push(`loadModel: 150 corrupted checkpoints, ${loaded} loaded, ${defects.length} defects`);
    expect(defects).toEqual([]);
  });
});

describe('safetensors fuzz findings (regressions)', () => {
  it('loadModel of a checkpoint whose saved config is corrupt names the file (it did not)', async () => {
    const path = join(tmp, 'bad-config.safetensors');
    const config = JSON.stringify({ className: 'Functional', config: { name: 'm', layers: 'oops' } });
    writeFileSync(path, encodeSafetensors([], { format: 'graft.model.v1', config }));
    await expect(loadModel(path)).rejects.toThrow(new RegExp(`^Graft loadModel: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    const bad = join(tmp, 'bad-compile.safetensors');
    const x = input({ shape: [2] });
    const m = model({ inputs: x, outputs: layers.dense({ units: 1 }).apply(x) });
    await m.save(bad);
    m.dispose();
    const file = decodeSafetensors(new Uint8Array(readFileSync(bad)), bad);
    const entries = [...file.tensors].map(([name, t]) => ({ name, shape: t.shape, dtype: t.dtype, data: t.data }));
    writeFileSync(bad, encodeSafetensors(entries, { ...file.metadata, compile: '{"loss": 3}' }));
    await expect(loadModel(bad)).rejects.toThrow(/'compile' metadata is not a compile config/);
  });
});

describe('TensorBoard event file fuzzing', () => {
  let valid: Uint8Array[];
  beforeAll(async () => {
    const dir = join(tmp, 'logs');
    for (const style of ['simple', 'tensor'] as const) {
      const w = new EventWriter(join(dir, style), { scalarStyle: style });
      for (let i = 0; i < 6; i++) w.scalar(i % 2 ? 'epoch_loss' : 'epoch_accuracy', 1 / (i + 1), i);
      await w.close();
    }
    valid = ['simple', 'tensor'].map((s) => new Uint8Array(readFileSync(join(dir, s, readdirSync(join(dir, s))[0]!))));
  });

  /** Record offsets: every record's length field is a size field. */
  const lengthFields = (b: Uint8Array) => {
    const out: { offset: number; width: 8 }[] = [];
    for (let pos = 0; pos + 12 <= b.length;) {
      out.push({ offset: pos, width: 8 });
      pos += 16 + Number(new DataView(b.buffer, b.byteOffset + pos, 8).getBigUint64(0, true));
    }
    return out;
  };

  /** One record's payload corrupted (flips, overwrite, cut, or a huge varint) and framed again with valid CRCs. */
  function reframed(bytes: Uint8Array, pick: Pick): Uint8Array {
    const records = decodeRecords(bytes).map((r) => new Uint8Array(r));
    const k = pick(records.length);
    let rec = records[k]!;
    const how = pick(4);
    if (how === 0) for (let i = 0; i < 1 + pick(4); i++) rec[pick(rec.length)]! ^= 1 << pick(8);
    else if (how === 1) rec = rec.subarray(0, pick(rec.length));
    else if (how === 2) rec.fill(pick(2) === 0 ? 0xff : 0, pick(rec.length), pick(rec.length + 1));
    else {
      // NOTE: a length-delimited field claiming 2^35 bytes.
      const at = pick(rec.length);
      rec = Uint8Array.from([...rec.subarray(0, at), 0x2a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, ...rec.subarray(at)]);
    }
    records[k] = rec;
    const framed = records.map((r) => encodeRecord(r));
    const out = new Uint8Array(framed.reduce((n, f) => n + f.length, 0));
    let pos = 0;
    for (const f of framed) {
      out.set(f, pos);
      pos += f.length;
    }
    return out;
  }

  it('1,000 byte-level and 600 re-framed cases: events or an EventFileError naming the file', () => {
    const pick = picker(66);
    function* cases(): Generator<FuzzCase> {
      yield* byteCases(61, 1000, valid, lengthFields);
      for (let i = 0; i < 600; i++) yield { kind: 'structured', bytes: reframed(valid[pick(valid.length)]!, pick) };
    }
    const r = runFuzz(cases(), {
      parse: (b) => parseEvents(b, 'fuzz.tfevents'),
      isOwnError: (e) => e instanceof EventFileError && e.message.includes('fuzz.tfevents'),
      retainedBytes: typedBytes,
      factor: 1,
    });
    log.push(summarize('TensorBoard events', r));
    expect(r.defects).toEqual([]);
    expect(r.loaded).toBeGreaterThan(50);
    expect(r.rejected).toBeGreaterThan(500);
    expect(printed()).toBe(0);
  });
});
