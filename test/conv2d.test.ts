// conv2d: forward vs the float64 oracle over many geometries, backward (input, filter, bias) vs central differences.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { conv2dRef, ref } from '../src/reference/index.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { cases, gpuOpts, label, refOpts, size, type Case } from './helpers/conv2d-cases.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

describe('conv2d forward', () => {
  for (const [k, c] of cases.entries()) {
    it(`matches the oracle: ${label(c)}`, async () => {
      const xv = randomValues(size(c.x), 100 + k);
      const fv = randomValues(size(c.f), 200 + k);
      const bv = randomValues(c.f[3], 300 + k);
      const bias = c.bias ? g.tensor(bv, [c.f[3]]) : undefined;
      const y = g.conv2d(g.tensor(xv, c.x), g.tensor(fv, c.f), gpuOpts(c, bias));
      const want = conv2dRef(ref(xv, c.x), ref(fv, c.f), refOpts(c, c.bias ? ref(bv, [c.f[3]]) : undefined));
      await expectTensor(y, want, { atol: 1e-5, rtol: 1e-4 }, label(c));
    });
  }

  it('matches the oracle on an EfficientNet-sized 3x3 layer', async () => {
    const c: Case = { x: [2, 14, 14, 24], f: [3, 3, 24, 40], strides: 2, padding: 'same', bias: true };
    const xv = randomValues(size(c.x), 7);
    const fv = randomValues(size(c.f), 8);
    const bv = randomValues(40, 9);
    const y = g.conv2d(g.tensor(xv, c.x), g.tensor(fv, c.f), gpuOpts(c, g.tensor(bv, [40])));
    await expectTensor(y, conv2dRef(ref(xv, c.x), ref(fv, c.f), refOpts(c, ref(bv, [40]))), { atol: 1e-4, rtol: 1e-4 });
  });

  it('leaves only its output alive, on the implicit-GEMM and the pointwise (matmul) paths', () => {
    const x = g.zeros([1, 4, 4, 8]);
    for (const f of [g.zeros([3, 3, 8, 4]), g.zeros([1, 1, 8, 4])]) {
      const before = g.memory().tensorsLive;
      const y = g.conv2d(x, f, { padding: 'same', activation: 'relu' });
      expect(g.memory().tensorsLive).toBe(before + 1);
      y.dispose();
      expect(g.memory().tensorsLive).toBe(before);
    }
  });

  it('gives the TensorFlow same-padding output sizes', () => {
    const y = g.conv2d(g.zeros([1, 7, 7, 3]), g.zeros([3, 3, 3, 2]), { strides: 2, padding: 'same' });
    expect(y.shape).toEqual([1, 4, 4, 2]);
    const z = g.conv2d(g.zeros([1, 224, 224, 3]), g.zeros([3, 3, 3, 2]), { strides: 2, padding: 'same' });
    expect(z.shape).toEqual([1, 112, 112, 2]);
  });
});

describe('conv2d errors', () => {
  it('names the op and the shapes', () => {
    expect(() => g.conv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 4, 8]))).toThrow(/conv2d: input \[1,8,8,3\] has 3 channels, filter \[3,3,4,8\] expects 4/);
    expect(() => g.conv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3]))).toThrow(/conv2d: filter must have rank 4, got \[3,3,3\]/);
    expect(() => g.conv2d(g.zeros([8, 8, 3]), g.zeros([3, 3, 3, 4]))).toThrow(/conv2d: input must be NHWC of rank 4, got \[8,8,3\]/);
    const bad = [1, 2, 3] as unknown as [number, number, number, number];
    expect(() => g.conv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3, 4]), { padding: bad })).toThrow(/conv2d: padding must be/);
    expect(() => g.conv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3, 4]), { padding: [1, -1, 0, 0] })).toThrow(/conv2d: padding/);
    expect(() => g.conv2d(g.zeros([1, 2, 2, 3]), g.zeros([3, 3, 3, 4]))).toThrow(/conv2d: input \[1,2,2,3\] and filter \[3,3,3,4\] .* empty output/);
    expect(() => g.conv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3, 4]), { strides: 0 })).toThrow(/conv2d: strides must be positive/);
    expect(() => g.conv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3, 4]), { bias: g.zeros([3]) })).toThrow(/conv2d: bias \[3\] must have shape \[4\]/);
  });
});

describe('conv2d backward', () => {
  const tiny: Case[] = [
    { x: [1, 4, 4, 2], f: [3, 3, 2, 3], padding: 'same', bias: true },
    { x: [2, 5, 5, 3], f: [3, 3, 3, 2], strides: 2, padding: 'same', bias: true },
    { x: [1, 5, 4, 2], f: [2, 2, 2, 5], dilations: 2, padding: [1, 0, 0, 1] },
    { x: [1, 3, 3, 5], f: [1, 1, 5, 6], bias: true },
  ];
  for (const c of tiny) {
    it(`full Jacobian of input, filter and bias: ${label(c)}`, async () => {
      const shapes = [c.x, c.f, ...(c.bias ? [[c.f[3]]] : [])];
      await gradCheck({
        shapes,
        mode: 'full',
        gpu: ([x, f, b]) => g.conv2d(x!, f!, gpuOpts(c, b)),
        ref: ([x, f, b]) => conv2dRef(x!, f!, refOpts(c, b)),
      });
    });
  }

  it('through the fused silu epilogue (full Jacobian)', async () => {
    const c: Case = { x: [1, 4, 5, 3], f: [3, 3, 3, 4], strides: 2, padding: 'same', bias: true, activation: 'silu' };
    await gradCheck({
      shapes: [c.x, c.f, [4]],
      mode: 'full',
      gpu: ([x, f, b]) => g.conv2d(x!, f!, gpuOpts(c, b)),
      ref: ([x, f, b]) => conv2dRef(x!, f!, refOpts(c, b)),
    });
  });

  const realistic: Case[] = [
    { x: [2, 14, 14, 24], f: [3, 3, 24, 40], strides: 2, padding: 'same', bias: true },
    { x: [2, 9, 9, 16], f: [3, 3, 16, 16], padding: 'same', bias: true, activation: 'relu6' },
    { x: [2, 7, 7, 40], f: [1, 1, 40, 24] },
  ];
  for (const c of realistic) {
    it(`directional <v, J^T u>: ${label(c)}`, async () => {
      await gradCheck({
        shapes: [c.x, c.f, ...(c.bias ? [[c.f[3]]] : [])],
        mode: 'directional',
        gpu: ([x, f, b]) => g.conv2d(x!, f!, gpuOpts(c, b)),
        ref: ([x, f, b]) => conv2dRef(x!, f!, refOpts(c, b)),
      });
    });
  }
});
