// Safetensors: round trips, the spec's byte layout, untrusted-file validation, atomic saves, GPU tensors.

import { mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { decodeSafetensors, encodeSafetensors, loadTensors, readSafetensors, saveTensors, writeSafetensors, type SafetensorsEntry } from '../src/io/safetensors.js';
import { writeFileAtomic } from '../src/node/atomic-write.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const dir = mkdtempSync(join(tmpdir(), 'graft-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entries: SafetensorsEntry[] = [
  { name: 'dense/kernel', shape: [2, 3], dtype: 'F32', data: new Float32Array([1, -2, 3.5, 4, 5e-8, -6e7]) },
  { name: 'half', shape: [3], dtype: 'F16', data: new Uint16Array([0x3c00, 0xc000, 0x3555]) },
  { name: 'step', shape: [], dtype: 'I64', data: new BigInt64Array([1234567890123n]) },
  { name: 'labels', shape: [4], dtype: 'I32', data: new Int32Array([0, -1, 2147483647, 7]) },
  { name: 'empty', shape: [0, 5], dtype: 'F32', data: new Float32Array(0) },
];

/** Builds a file from a header object and a data section, as an attacker or a foreign writer might. */
function rawFile(header: unknown, data: Uint8Array, headerSize?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerSize ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors format', () => {
  it('round-trips every dtype, shapes, metadata, and empty tensors', async () => {
    const path = join(dir, 'round.safetensors');
    await writeSafetensors(path, entries, { format: 'pt', epoch: '3' });
    const back = await readSafetensors(path);
    expect(back.metadata).toEqual({ format: 'pt', epoch: '3' });
    expect([...back.tensors.keys()].sort()).toEqual(entries.map((e) => e.name).sort());
    for (const e of entries) {
      const t = back.tensors.get(e.name)!;
      expect(t.dtype).toBe(e.dtype);
      expect(t.shape).toEqual(e.shape);
      expect(Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toEqual(
        Array.from(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength)),
      );
      expect(t.data.constructor.name).toBe({ F32: 'Float32Array', I32: 'Int32Array', I64: 'BigInt64Array', F16: 'Uint16Array' }[e.dtype]);
    }
  });

  it('writes the spec layout: u64 LE header size, JSON header padded to 8 bytes, contiguous data', () => {
    const bytes = encodeSafetensors([{ name: 'a', shape: [2], dtype: 'F32', data: new Float32Array([1, 2]) }], { k: 'v' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({ __metadata__: { k: 'v' }, a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(Array.from(new Float32Array(bytes.slice(8 + n).buffer))).toEqual([1, 2]);
  });

  it('reads a file written by another writer (unpadded header, unaligned data)', () => {
    const data = new Uint8Array([0x00, 0x3c, 0, 0, 0x80, 0x3f]);
    const bytes = rawFile({ h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] }, f: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } }, data);
    const f = decodeSafetensors(bytes);
    expect(Array.from(f.tensors.get('h')!.data as Uint16Array)).toEqual([0x3c00]);
    expect(Array.from(f.tensors.get('f')!.data as Float32Array)).toEqual([1]);
  });
});

describe('untrusted files give errors that name the file and the problem', () => {
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array([1, 2, 3]), /file is 3 bytes, shorter than the 8-byte header size/],
    ['a huge header size', rawFile(good, new Uint8Array(8), 1n << 62n), /header size 4611686018427387904 exceeds the \d+ bytes after/],
    ['a truncated header', rawFile(good, new Uint8Array(8)).subarray(0, 30), /exceeds the 22 bytes after the size field/],
    ['invalid JSON', rawFile('{"a": [1,', new Uint8Array(0)), /header is not valid UTF-8 JSON/],
    ['a non-object header', rawFile('{}', new Uint8Array(0)).fill(0x5b, 8, 9), /header does not start with "\{"/],
    ['an unknown dtype', rawFile({ a: { dtype: 'Q4', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'a' has unsupported dtype "Q4"/],
    ['a bad shape', rawFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor 'a' has invalid shape \[-2\]/],
    ['bytes that do not match the shape', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12 bytes but data_offsets \[0,8\] span 8/],
    ['offsets past the end', rawFile(good, new Uint8Array(4)), /tensor 'a' data_offsets \[0,8\] run past the 4-byte data section/],
    [
      'overlapping tensors',
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)),
      /tensor 'b' data_offsets \[4,8\] overlap the previous tensor/,
    ],
    ['a hole in the data', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /bytes 0..4 of the data section belong to no tensor/],
    ['trailing bytes', rawFile(good, new Uint8Array(12)), /bytes 8..12 of the data section belong to no tensor/],
    ['non-string metadata', rawFile({ __metadata__: { epoch: 3 } }, new Uint8Array(0)), /__metadata__ value 'epoch' is not a string/],
  ];
  for (const [what, bytes, msg] of cases) {
    it(`rejects ${what}`, async () => {
      const path = join(dir, `bad-${what.replace(/\W+/g, '-')}.safetensors`);
      writeFileSync(path, bytes);
      const err = await readSafetensors(path).then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(msg);
      expect(err?.message).toContain(path);
    });
  }

  it('rejects bad input on write', () => {
    expect(() => encodeSafetensors([{ name: 'x', shape: [3], dtype: 'F32', data: new Float32Array(2) }])).toThrow(/'x' F32 \[3\] needs 12 bytes, data has 8/);
    expect(() => encodeSafetensors([entries[0]!, entries[0]!])).toThrow(/'dense\/kernel' appears twice/);
  });
});

describe('atomic saves', () => {
  it('keeps the old file intact when a save fails before the rename, and leaves no temp file', async () => {
    const path = join(dir, 'ckpt.safetensors');
    await writeSafetensors(path, [entries[0]!], { epoch: '1' });
    const before = readFileSync(path);
    const err = await writeFileAtomic(path, encodeSafetensors(entries, { epoch: '2' }), {
      beforeRename: (temp) => {
        // The new file is complete at this point, just not in place yet.
        expect(decodeSafetensors(readFileSync(temp)).metadata).toEqual({ epoch: '2' });
        throw new Error('simulated crash');
      },
    }).then(() => null, (e: Error) => e);
    expect(err?.message).toBe('simulated crash');
    expect(readFileSync(path).equals(before)).toBe(true);
    expect((await readSafetensors(path)).metadata).toEqual({ epoch: '1' });
    expect(readdirSync(dir).filter((f) => f.includes('ckpt') && f.endsWith('.tmp'))).toEqual([]);
  });

  it('replaces the file when the save succeeds', async () => {
    const path = join(dir, 'plain.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    await writeFileAtomic(path, new Uint8Array([4, 5]));
    expect(Array.from(readFileSync(path))).toEqual([4, 5]);
  });
});

describe('GPU tensors', () => {
  it('saveTensors / loadTensors round-trip float32 and int32 tensors', async () => {
    const path = join(dir, 'gpu.safetensors');
    const w = g.randomNormal([3, 4], 0, 1, { seed: 3 });
    const i = g.tensor([3, -1, 8], [3], { dtype: 'int32' });
    await saveTensors(path, { 'model/dense/kernel': w, 'model/counter': i }, { iterations: '17' });
    const { tensors, metadata } = await loadTensors(path);
    expect(metadata).toEqual({ iterations: '17' });
    expect(tensors['model/dense/kernel']!.shape).toEqual([3, 4]);
    expect(await tensors['model/dense/kernel']!.array()).toEqual(await w.array());
    expect(tensors['model/counter']!.dtype).toBe('int32');
    expect(await tensors['model/counter']!.array()).toEqual([3, -1, 8]);
  });

  it('loads F16 as float32 and I64 as int32, rejecting I64 values outside int32', async () => {
    const path = join(dir, 'mixed.safetensors');
    await writeSafetensors(path, [entries[1]!, { name: 'n', shape: [2], dtype: 'I64', data: new BigInt64Array([5n, -6n]) }]);
    const { tensors } = await loadTensors(path);
    expect(await tensors['half']!.array()).toEqual([1, -2, Math.fround(0.333251953125)]);
    expect(await tensors['n']!.array()).toEqual([5, -6]);
    const big = join(dir, 'big.safetensors');
    await writeSafetensors(big, [entries[2]!]);
    await expect(loadTensors(big)).rejects.toThrow(/I64 tensor 'step' holds 1234567890123, outside the int32 range/);
  });
});
