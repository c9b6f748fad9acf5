// depthwiseConv2d: forward vs the float64 oracle (vec4 and scalar paths), backward vs central differences.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { depthwiseConv2dRef, ref } from '../src/reference/index.js';
import { cases, gpuOpts, label, outChannels, realistic, refOpts, size, tiny, type Case } from './helpers/depthwise-cases.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

describe('depthwiseConv2d forward', () => {
  for (const [k, c] of cases.entries()) {
    it(`matches the oracle: ${label(c)}`, async () => {
      const xv = randomValues(size(c.x), 500 + k);
      const fv = randomValues(size(c.f), 600 + k);
      const bv = randomValues(outChannels(c), 700 + k);
      const bias = c.bias ? g.tensor(bv, [outChannels(c)]) : undefined;
      const y = g.depthwiseConv2d(g.tensor(xv, c.x), g.tensor(fv, c.f), gpuOpts(c, bias));
      const want = depthwiseConv2dRef(ref(xv, c.x), ref(fv, c.f), refOpts(c, c.bias ? ref(bv, [outChannels(c)]) : undefined));
      await expectTensor(y, want, { atol: 1e-5, rtol: 1e-4 }, label(c));
    });
  }

  it('orders output channels c*mult + m as TensorFlow does', async () => {
    // A 1x1 depthwise filter with mult 2 scales channel c by f[c, 0] into 2c and by f[c, 1] into 2c+1.
    const x = g.tensor([1, 2, 3], [1, 1, 1, 3]);
    const f = g.tensor([10, 20, 30, 40, 50, 60], [1, 1, 3, 2]);
    expect(await g.depthwiseConv2d(x, f).array()).toEqual([10, 20, 60, 80, 150, 180]);
  });
});

describe('depthwiseConv2d errors', () => {
  it('names the op and the shapes', () => {
    expect(() => g.depthwiseConv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 4, 1]))).toThrow(/depthwiseConv2d: input \[1,8,8,3\] has 3 channels, filter \[3,3,4,1\] expects 4/);
    expect(() => g.depthwiseConv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3]))).toThrow(/depthwiseConv2d: filter must have rank 4, got \[3,3,3\]/);
    expect(() => g.depthwiseConv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3, 2]), { padding: [1, 1] as unknown as [number, number, number, number] })).toThrow(/depthwiseConv2d: padding must be/);
    expect(() => g.depthwiseConv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3, 2]), { bias: g.zeros([3]) })).toThrow(/depthwiseConv2d: bias \[3\] must have shape \[6\]/);
    expect(() => g.depthwiseConv2d(g.zeros([1, 8, 8, 3]), g.zeros([3, 3, 3, 1]), { dilations: [1, 0] })).toThrow(/depthwiseConv2d: dilations must be positive/);
  });
});

describe('depthwiseConv2d backward', () => {
  for (const c of tiny) {
    it(`full Jacobian of input, filter and bias: ${label(c)}`, async () => {
      await gradCheck({
        shapes: [c.x, c.f, ...(c.bias ? [[outChannels(c)]] : [])],
        mode: 'full',
        gpu: ([x, f, b]) => g.depthwiseConv2d(x!, f!, gpuOpts(c, b)),
        ref: ([x, f, b]) => depthwiseConv2dRef(x!, f!, refOpts(c, b)),
      });
    });
  }

  it('through the fused silu epilogue (full Jacobian)', async () => {
    const c: Case = { x: [1, 5, 5, 4], f: [3, 3, 4, 1], strides: 2, padding: 'same', bias: true, activation: 'silu' };
    await gradCheck({
      shapes: [c.x, c.f, [4]],
      mode: 'full',
      gpu: ([x, f, b]) => g.depthwiseConv2d(x!, f!, gpuOpts(c, b)),
      ref: ([x, f, b]) => depthwiseConv2dRef(x!, f!, refOpts(c, b)),
    });
  });

  for (const c of realistic) {
    it(`directional <v, J^T u>: ${label(c)}`, async () => {
      await gradCheck({
        shapes: [c.x, c.f, ...(c.bias ? [[outChannels(c)]] : [])],
        mode: 'directional',
        gpu: ([x, f, b]) => g.depthwiseConv2d(x!, f!, gpuOpts(c, b)),
        ref: ([x, f, b]) => depthwiseConv2dRef(x!, f!, refOpts(c, b)),
      });
    });
  }
});
