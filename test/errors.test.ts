// Bad input throws errors that name the op and the shapes involved, before any GPU work is recorded.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

/** Asserts that `fn` throws a message matching `re` and records no dispatch. */
function expectThrows(fn: () => unknown, re: RegExp): void {
  const before = device().dispatchCount;
  expect(fn).toThrow(re);
  expect(device().dispatchCount, 'no GPU work before the check').toBe(before);
}

describe('shape and axis errors', () => {
  it('add: incompatible broadcast names both shapes', () => {
    expectThrows(() => g.add(g.zeros([3, 4]), g.zeros([2, 4])), /Graft add: shapes \[3,4\] and \[2,4\] cannot be broadcast/);
  });

  it('transpose: a bad permutation names it and the shape', () => {
    const x = g.zeros([2, 3, 4]);
    expectThrows(() => g.transpose(x, [0, 1]), /Graft transpose: perm \[0,1\] is not a permutation of the axes of shape \[2,3,4\]/);
    expectThrows(() => g.transpose(x, [0, 0, 1]), /transpose: perm \[0,0,1\]/);
    expectThrows(() => g.transpose(x, [0, 1, 3]), /transpose: perm \[0,1,3\]/);
  });

  it('concat: rank, shape and axis mismatches name every shape', () => {
    expectThrows(() => g.concat([g.zeros([2, 3]), g.zeros([2, 3, 1])], 0), /Graft concat: ranks differ in shapes \[2,3\], \[2,3,1\]/);
    expectThrows(() => g.concat([g.zeros([2, 3]), g.zeros([4, 4])], 0), /Graft concat: shapes \[2,3\], \[4,4\] differ outside axis 0/);
    expectThrows(() => g.concat([g.zeros([2, 3]), g.zeros([2, 3])], 2), /Graft concat: axis 2 is out of range for shapes \[2,3\], \[2,3\]/);
    expectThrows(() => g.concat([g.zeros([2]), g.zeros([2], { dtype: 'int32' })], 0), /Graft concat: dtypes differ/);
    expectThrows(() => g.stack([g.zeros([2, 3]), g.zeros([3, 2])]), /Graft stack: shapes \[2,3\], \[3,2\] differ/);
  });

  it('slice and pad: out-of-bounds or malformed arguments name the shape', () => {
    const x = g.zeros([4, 5]);
    expectThrows(() => g.slice(x, [2, 0], [3, 5]), /Graft slice: begin \[2,0\] size \[3,5\] is out of bounds on dim 0 for shape \[4,5\]/);
    expectThrows(() => g.slice(x, [0, -1], [1, 1]), /slice: .* out of bounds on dim 1 for shape \[4,5\]/);
    expectThrows(() => g.slice(x, [0], [1]), /slice: .* must have one entry per dim for shape \[4,5\]/);
    expectThrows(() => g.pad(x, [[1, 1]]), /Graft pad: paddings .* per dim of shape \[4,5\]/);
    expectThrows(() => g.pad(x, [[1, 1], [-1, 0]]), /Graft pad: paddings/);
    expectThrows(() => g.broadcastTo(x, [4, 3]), /Graft broadcastTo: shape \[4,5\] cannot be broadcast to \[4,3\]/);
  });

  it('softmax and reductions: an invalid axis names it and the shape', () => {
    const x = g.zeros([2, 3]);
    expectThrows(() => g.softmax(x, 2), /Graft softmax: axis 2 is out of range for shape \[2,3\]/);
    expectThrows(() => g.logSoftmax(x, -3), /Graft logSoftmax: axis -3 is out of range for shape \[2,3\]/);
    expectThrows(() => g.sum(x, 5), /Graft sum: axis 5 is out of range for shape \[2,3\]/);
    expectThrows(() => g.mean(x, [0, -2]), /Graft mean: axis -2 repeated for shape \[2,3\]/);
    expectThrows(() => g.argmax(x, 1.5), /Graft argmax: axis 1.5 is out of range/);
  });

  it('reshape: a size mismatch names both shapes', () => {
    expectThrows(() => g.reshape(g.zeros([2, 3]), [4, 2]), /Graft reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/);
    expectThrows(() => g.reshape(g.zeros([2, 3]), [-1, -1]), /Graft reshape: invalid target shape \[-1,-1\] for input \[2,3\]/);
  });

  it('oneHot and losses: wrong dtypes name the op and the shapes', () => {
    expectThrows(() => g.oneHot(g.zeros([3]), 4), /Graft oneHot: indices must be int32, got float32 \[3\]/);
    expectThrows(() => g.oneHot(g.zeros([3], { dtype: 'int32' }), 0), /Graft oneHot: depth 0 must be a positive integer/);
    expectThrows(() => g.softmax(g.zeros([3], { dtype: 'int32' })), /Graft softmax: expected a float32 tensor, got int32 \[3\]/);
    expectThrows(() => g.softmaxCrossEntropy(g.zeros([2, 3]), g.zeros([3, 2])), /softmaxCrossEntropy: shapes differ: logits \[2,3\] and labels \[3,2\]/);
  });
});
