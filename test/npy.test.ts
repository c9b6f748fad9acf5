// NumPy .npy files: round trips of every dtype and header version, numpy-written headers, and bad files (each a
// clear NpyError, never a huge allocation). Plus `graft run` (runCommand) on a small ONNX model.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, writeNpy, NpyError, npyToFloat32, type NpyArray } from '../src/io/npy.js';
import { readNpy } from '../src/node/npy-file.js';
import { GraphBuilder, encodeModel, ints } from '../src/io/onnx/index.js';
import { runCommand } from '../tools/run-onnx.js';

const tmp = mkdtempSync(join(tmpdir(), 'graft-npy-'));

/** A header exactly as numpy 1.x/2.x writes it (dict padded with spaces so the data starts at 64 * k). */
function numpyBytes(descr: string, shape: string, body: Uint8Array, version = 1, fortran = false): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const header = dict.padEnd(total - pre - 1, ' ') + '\n';
  const out = new Uint8Array(total + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(body, total);
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('npy', () => {
  it('round-trips float32, float64, int64, int32, uint8 and bool arrays, scalars and empty arrays', async () => {
    const arrays: NpyArray[] = [
      { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, -2.5, 3, 4e-8, 5, Math.PI) },
      { dtype: 'float64', shape: [4], data: Float64Array.of(1e300, -0, 0.1, 2) },
      { dtype: 'int64', shape: [2, 2], data: BigInt64Array.of(-1n, 2n ** 40n, 3n, 4n) },
      { dtype: 'int32', shape: [1, 3, 1], data: Int32Array.of(-7, 0, 2 ** 31 - 1) },
      { dtype: 'uint8', shape: [3], data: Uint8Array.of(0, 128, 255) },
      { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) },
      { dtype: 'float32', shape: [], data: Float32Array.of(42) },
      { dtype: 'float32', shape: [0, 5], data: new Float32Array(0) },
    ];
    for (const a of arrays) {
      const path = join(tmp, `${a.dtype}-${a.shape.join('x')}.npy`);
      await writeNpy(path, a);
      const back = readNpy(path);
      expect(back.dtype).toBe(a.dtype);
      expect(back.shape).toEqual(a.shape);
      expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(a.data as ArrayLike<number | bigint>));
      expect(readFileSync(path).length % 16).toBe(a.data.byteLength % 16);
    }
    expect(Array.from(npyToFloat32(arrays[2]!))).toEqual([-1, 2 ** 40, 3, 4]);
  });

  it('reads headers as numpy writes them (versions 1.0 and 2.0, 1-tuples, odd data offsets copied aligned)', () => {
    const f = Float32Array.of(1.5, -2, 3.25);
    const v1 = parseNpy(numpyBytes('<f4', '(3,)', bytesOf(f)));
    expect(v1.shape).toEqual([3]);
    expect(Array.from(v1.data as Float32Array)).toEqual([1.5, -2, 3.25]);
    const v2 = parseNpy(numpyBytes('<i8', '(1, 2)', bytesOf(BigInt64Array.of(5n, -6n)), 2));
    expect(v2.dtype).toBe('int64');
    expect(Array.from(v2.data as BigInt64Array)).toEqual([5n, -6n]);
    const shifted = new Uint8Array(numpyBytes('<f4', '(3,)', bytesOf(f)).length + 1);
    shifted.set(numpyBytes('<f4', '(3,)', bytesOf(f)), 1);
    expect(Array.from(parseNpy(shifted.subarray(1)).data as Float32Array)).toEqual([1.5, -2, 3.25]);
    // NOTE: what our writer produces must be what numpy's reader expects: the header ends with '\n' at 64 * k.
    const mine = encodeNpy({ dtype: 'float32', shape: [3], data: f });
    expect(Buffer.from(mine).equals(Buffer.from(numpyBytes('<f4', '(3,)', bytesOf(f))))).toBe(true);
  });

  it('rejects bad files with a clear error: empty, random, truncated, lying shape, Fortran order, big-endian, bad shape', () => {
    const good = numpyBytes('<f4', '(2, 2)', bytesOf(new Float32Array(4)));
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(0), /not a \.npy file/],
      [Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 255), /not a \.npy file/],
      [good.subarray(0, 40), /truncated/],
      [good.subarray(0, good.length - 1), /claims more elements than the 15 data bytes hold/],
      [numpyBytes('<f4', '(3,)', new Uint8Array(16)), /needs 12 data bytes, the file has 16/],
      [numpyBytes('<f4', '(100000, 100000, 100000)', new Uint8Array(8)), /claims more elements than the 8 data bytes hold/],
      [numpyBytes('<f4', '(2, 2)', new Uint8Array(16), 1, true), /Fortran order/],
      [numpyBytes('>f4', '(2,)', new Uint8Array(8)), /dtype '>f4'/],
      [numpyBytes('<c8', '(2,)', new Uint8Array(16)), /dtype '<c8'/],
      [numpyBytes('<f4', '(-2,)', new Uint8Array(8)), /bad shape entry '-2'/],
    ];
    const f = Uint8Array.from(good);
    f[6] = 9;
    cases.push([f, /format version 9/]);
    for (const [bytes, message] of cases) {
      expect(() => parseNpy(bytes, 'x.npy')).toThrow(NpyError);
      expect(() => parseNpy(bytes, 'x.npy')).toThrow(message);
    }
    expect(() => readNpy(join(tmp, 'missing.npy'))).toThrow(/missing\.npy: cannot be read/);
  });
});

describe('graft run', () => {
  it('runs an NCHW model on an .npy input and writes the NCHW output; bad arguments and files exit non-zero', async () => {
    const g = new GraphBuilder('run');
    g.input('x', 'float32', ['N', 2, 3, 3]);
    g.node('Conv', ['x', g.floatInit('w', [2, 2, 1, 1], Float32Array.of(1, 2, -1, 0.5))], ['y'], { pads: ints([0, 0, 0, 0]) }, 'conv');
    g.output('y', 'float32', ['N', 2, 3, 3]);
    const modelPath = join(tmp, 'run.onnx');
    writeFileSync(modelPath, encodeModel(g, { opsets: [{ domain: '', version: 13 }] }));
    const x = Float32Array.from({ length: 36 }, (_, i) => i / 10);
    await writeNpy(join(tmp, 'x.npy'), { dtype: 'float32', shape: [2, 2, 3, 3], data: x });
    const errors: string[] = [];
    const logs: string[] = [];
    const err = console.error;
    const log = console.log;
    console.error = (m: string) => errors.push(m);
    console.log = (m: string) => logs.push(m);
    try {
      expect(await runCommand([modelPath, '--input', join(tmp, 'x.npy'), '--output', join(tmp, 'y.npy')])).toBe(0);
      const y = readNpy(join(tmp, 'y.npy'));
      expect(y.shape).toEqual([2, 2, 3, 3]);
      const want = Array.from({ length: 36 }, (_, i) => {
        const [n, c, p] = [Math.floor(i / 18), Math.floor(i / 9) % 2, i % 9];
        const a = x[n * 18 + p]!;
        const b = x[n * 18 + 9 + p]!;
        return c === 0 ? a + 2 * b : -a + 0.5 * b;
      });
      (y.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
      expect(await runCommand([modelPath, '--input', join(tmp, 'x.npy'), '--input-name', 'nope', '--output', join(tmp, 'z.npy')])).toBe(1);
      expect(await runCommand([join(tmp, 'x.npy'), '--input', join(tmp, 'x.npy'), '--output', join(tmp, 'z.npy')])).toBe(1);
      expect(await runCommand([modelPath, '--input', modelPath, '--output', join(tmp, 'z.npy')])).toBe(1);
      expect(await runCommand([modelPath, '--input', join(tmp, 'x.npy')])).toBe(2);
    } finally {
      console.error = err;
      console.log = log;
    }
    expect(errors[0]).toMatch(/has no input named 'nope' \(its input is 'x'\)/);
    expect(errors[1]).toMatch(/x\.npy: is not a valid ONNX protobuf|x\.npy/);
    expect(errors[2]).toMatch(/run\.onnx: is not a \.npy file/);
    expect(errors[3]).toMatch(/usage: graft run/);
    expect(errors.every((e) => !e.includes('\n    at '))).toBe(true);
  });
});
