// Augmentation ops: the affine resampler vs the float64 oracle for every fill mode and interpolation on odd sizes,
// flips and contrast vs the oracle, Keras' geometric conventions on hand-checkable cases, and seeding.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { ref } from '../src/reference/index.js';
import { affineTransformRef, contrastRef, flipRef, type RefFillMode } from '../src/reference/augment.js';
import { rng } from '../src/tensor/tensor.js';
import { expectClose, expectTensor, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';

const getDevice = useDevice();

const FILLS: RefFillMode[] = ['reflect', 'wrap', 'constant', 'nearest'];
const EXACT = { atol: 0, rtol: 0 };

function images(shape: [number, number, number, number], seed: number, lo = 0, hi = 1) {
  const v = randomValues(shape.reduce((p, d) => p * d), seed, lo, hi);
  return { x: g.tensor(v, shape), r: ref(v, shape) };
}

/** Random similarity transforms about a random point, large enough to sample well outside the image. */
function randomTransforms(n: number, seed: number, projective = false): Float32Array {
  const r = rng(seed);
  const t = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) {
    const a = (r() - 0.5) * 4;
    const s = 0.6 + r() * 1.2;
    t.set([s * Math.cos(a), -s * Math.sin(a), (r() - 0.5) * 10, s * Math.sin(a), s * Math.cos(a), (r() - 0.5) * 10], i * 8);
    if (projective) t.set([(r() - 0.5) * 0.1, (r() - 0.5) * 0.1], i * 8 + 6);
  }
  return t;
}

/** Transforms with entries on a 1/8 grid: float32 and float64 coordinates agree exactly, ties at .5 included. */
function dyadicTransforms(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const q = (lo: number, hi: number) => Math.round((lo + (hi - lo) * r()) * 8) / 8;
  const t = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) t.set([q(-1.5, 1.5), q(-1.5, 1.5), q(-6, 6), q(-1.5, 1.5), q(-1.5, 1.5), q(-6, 6)], i * 8);
  // NOTE: one image gets an exact half-pixel shift so that round-half-to-even is exercised.
  t.set([1, 0, 0.5, 0, 1, -1.5], 0);
  return t;
}

describe('affineTransform', () => {
  const shape: [number, number, number, number] = [3, 5, 7, 3];

  for (const fillMode of FILLS) {
    it(`bilinear, fillMode ${fillMode}, matches the oracle on a 5x7 image`, async () => {
      const { x, r } = images(shape, 1);
      const t = randomTransforms(3, 11);
      const y = g.affineTransform(x, t, { interpolation: 'bilinear', fillMode, fillValue: 0.25 });
      await expectTensor(y, affineTransformRef(r, t, 'bilinear', fillMode, 0.25), { atol: 2e-5, rtol: 1e-4 }, fillMode);
    });

    it(`nearest, fillMode ${fillMode}, matches the oracle exactly (ties to even)`, async () => {
      const { x, r } = images(shape, 2);
      const t = dyadicTransforms(3, 12);
      const y = g.affineTransform(x, t, { interpolation: 'nearest', fillMode, fillValue: -2 });
      await expectTensor(y, affineTransformRef(r, t, 'nearest', fillMode, -2), EXACT, fillMode);
    });
  }

  it('handles projective rows, one-pixel images and a single channel', async () => {
    const a = images([2, 6, 5, 2], 3);
    const t = randomTransforms(2, 13, true);
    await expectTensor(g.affineTransform(a.x, t, { fillMode: 'constant' }), affineTransformRef(a.r, t, 'bilinear', 'constant'), { atol: 2e-5, rtol: 1e-4 });
    for (const fillMode of FILLS) {
      const b = images([2, 1, 1, 1], 4);
      const tb = randomTransforms(2, 14);
      await expectTensor(g.affineTransform(b.x, tb, { fillMode, fillValue: 7 }), affineTransformRef(b.r, tb, 'bilinear', fillMode, 7), { atol: 2e-5, rtol: 1e-4 }, `1x1 ${fillMode}`);
    }
  });

  it('is the identity for the identity transform and defaults to bilinear + reflect', async () => {
    const { x, r } = images([2, 3, 5, 3], 5);
    const id = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
    await expectTensor(g.affineTransform(x, id), r, EXACT);
    const t = randomTransforms(2, 15);
    await expectTensor(g.affineTransform(x, t), affineTransformRef(r, t, 'bilinear', 'reflect'), { atol: 2e-5, rtol: 1e-4 });
  });

  it('records one dispatch, no gradient, and names bad arguments', () => {
    const x = g.tensor(new Float32Array(2 * 4 * 4 * 3), [2, 4, 4, 3], { requiresGrad: true });
    const before = getDevice().dispatchCount;
    const y = g.affineTransform(x, randomTransforms(2, 1));
    expect(getDevice().dispatchCount - before).toBe(1);
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(() => g.affineTransform(x, new Float32Array(8))).toThrow(/affineTransform: images \[2,4,4,3\] need 16/);
    expect(() => g.affineTransform(g.zeros([4, 4, 3]), [])).toThrow(/affineTransform: images \[N,H,W,C\] must have rank 4/);
    expect(() => g.affineTransform(x, randomTransforms(2, 1), { fillMode: 'mirror' as 'wrap' })).toThrow(/unknown fillMode 'mirror'/);
  });
});

describe('flips', () => {
  it('flipImages matches the oracle for every flag', async () => {
    const { x, r } = images([4, 3, 5, 2], 6);
    const flags = [0, 1, 2, 3];
    await expectTensor(g.flipImages(x, flags), flipRef(r, flags), EXACT);
  });

  it('randomFlip draws per-image flags from the seed, per mode', async () => {
    const { x, r } = images([16, 3, 4, 3], 7);
    for (const mode of ['horizontal', 'vertical', 'horizontal_and_vertical'] as const) {
      const flags = g.drawFlips(16, mode, rng(42));
      if (mode === 'horizontal') expect(flags.every((f) => f <= 1)).toBe(true);
      if (mode === 'vertical') expect(flags.every((f) => f === 0 || f === 2)).toBe(true);
      expect(new Set(flags).size, `${mode} draws more than one outcome`).toBeGreaterThan(1);
      await expectTensor(g.randomFlip(x, { mode, seed: 42 }), flipRef(r, flags), EXACT, mode);
    }
  });

  it('is reproducible from a seed or a caller-owned stream', async () => {
    const { x } = images([8, 2, 3, 1], 8);
    const a = await g.randomFlip(x, { seed: 3 }).data();
    expect(await g.randomFlip(x, { seed: 3 }).data()).toEqual(a);
    const s1 = rng(9);
    const first = await g.randomFlip(x, { random: s1 }).data();
    const second = await g.randomFlip(x, { random: s1 }).data();
    expect(second).not.toEqual(first);
    const s2 = rng(9);
    expect(await g.randomFlip(x, { random: s2 }).data()).toEqual(first);
    expect(await g.randomFlip(x, { random: s2 }).data()).toEqual(second);
    expect(g.deriveSeed(5, 0)).not.toBe(g.deriveSeed(5, 1));
    expect(g.deriveSeed(5, 1)).toBe(g.deriveSeed(5, 1));
  });
});

describe('random geometric transforms (Keras conventions)', () => {
  it('rotation by factor 0.25 is a 90-degree counter-clockwise turn (np.rot90)', async () => {
    const { x, r } = images([1, 5, 5, 2], 9);
    const want = ref(new Float64Array(50), [1, 5, 5, 2]);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        for (let c = 0; c < 2; c++) want.data[(i * 5 + j) * 2 + c] = r.data[(j * 5 + (4 - i)) * 2 + c]!;
      }
    }
    for (const interpolation of ['nearest', 'bilinear'] as const) {
      const y = g.randomRotation(x, { factor: [0.25, 0.25], interpolation, seed: 1 });
      await expectTensor(y, want, { atol: 1e-6, rtol: 0 }, interpolation);
    }
  });

  it('rotation angles stay within factor * 2pi and match the oracle', async () => {
    const t = g.drawRotations(200, 5, 7, 0.1, rng(5));
    let maxAngle = 0;
    for (let i = 0; i < 200; i++) maxAngle = Math.max(maxAngle, Math.abs(Math.atan2(t[i * 8 + 3]!, t[i * 8]!)));
    expect(maxAngle).toBeLessThanOrEqual(0.2 * Math.PI + 1e-6);
    expect(maxAngle).toBeGreaterThan(0.18 * Math.PI);
    const { x, r } = images([3, 5, 7, 3], 10);
    const y = g.randomRotation(x, { factor: 0.1, seed: 5 });
    await expectTensor(y, affineTransformRef(r, g.drawRotations(3, 5, 7, 0.1, rng(5)), 'bilinear', 'reflect'), { atol: 2e-5, rtol: 1e-4 });
  });

  it('zoom: positive factors zoom out about the centre, width follows height when omitted', async () => {
    const { x, r } = images([1, 5, 5, 1], 11);
    const out = await g.randomZoom(x, { heightFactor: [1, 1], fillMode: 'constant', fillValue: -1, interpolation: 'nearest' }).data();
    // zoom 2: output (row, col) reads input (2 row - 2, 2 col - 2).
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        const si = 2 * i - 2;
        const sj = 2 * j - 2;
        const want = si >= 0 && si < 5 && sj >= 0 && sj < 5 ? r.data[si * 5 + sj]! : -1;
        expect(out[i * 5 + j], `(${i},${j})`).toBe(Math.fround(want));
      }
    }
    const t = g.drawZooms(50, 5, 7, 0.3, undefined, rng(1));
    for (let i = 0; i < 50; i++) {
      expect(t[i * 8]).toBe(t[i * 8 + 4]);
      expect(Math.abs(t[i * 8]! - 1)).toBeLessThanOrEqual(0.3 + 1e-6);
    }
    const tw = g.drawZooms(50, 5, 7, 0.3, [-0.5, -0.4], rng(1));
    for (let i = 0; i < 50; i++) expect(tw[i * 8]).toBeLessThanOrEqual(0.6 + 1e-6);
    const y = g.randomZoom(images([2, 5, 7, 3], 12).x, { heightFactor: 0.2, widthFactor: [-0.1, 0.3], seed: 4 });
    await expectTensor(y, affineTransformRef(images([2, 5, 7, 3], 12).r, g.drawZooms(2, 5, 7, 0.2, [-0.1, 0.3], rng(4)), 'bilinear', 'reflect'), { atol: 2e-5, rtol: 1e-4 });
  });

  it('translation: positive factors move the image down and right', async () => {
    const { x, r } = images([1, 5, 5, 2], 13);
    const out = await g.randomTranslation(x, { heightFactor: [0.2, 0.2], widthFactor: [-0.4, -0.4], fillMode: 'constant' }).data();
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        for (let c = 0; c < 2; c++) {
          const si = i - 1;
          const sj = j + 2;
          const want = si >= 0 && sj < 5 ? r.data[(si * 5 + sj) * 2 + c]! : 0;
          expect(out[(i * 5 + j) * 2 + c], `(${i},${j},${c})`).toBeCloseTo(want, 6);
        }
      }
    }
    expect(() => g.randomTranslation(x, { heightFactor: 1.5, widthFactor: 0 })).toThrow(/randomTranslation: heightFactor values must be within \[-1, 1\]/);
  });

  it('composeTransforms resamples a flip-then-rotation stack in one pass', async () => {
    const { x, r } = images([2, 5, 5, 3], 17);
    const flip = new Float32Array([...g.flipTransform(true, false, 5, 5), ...g.flipTransform(true, true, 5, 5)]);
    const rot = new Float32Array([...g.rotationTransform(Math.PI / 2, 5, 5), ...g.rotationTransform(-Math.PI / 2, 5, 5)]);
    const opts = { interpolation: 'nearest', fillMode: 'constant' } as const;
    const twoPass = g.affineTransform(g.affineTransform(x, flip, opts), rot, opts);
    await expectTensor(g.affineTransform(x, g.composeTransforms(flip, rot), opts), ref(await twoPass.data(), [2, 5, 5, 3]), { atol: 1e-6, rtol: 0 });
    await expectTensor(g.affineTransform(x, flip, opts), flipRef(r, [1, 3]), EXACT);
  });

  it('rejects bad factors naming the op', () => {
    const x = g.zeros([1, 3, 3, 3]);
    expect(() => g.randomRotation(x, { factor: [0.2, 0.1] })).toThrow(/randomRotation: factor must be/);
    expect(() => g.randomRotation(x, { factor: 1.5 })).toThrow(/randomRotation: factor values must be within \[-1, 1\]/);
    expect(() => g.randomZoom(x, { heightFactor: [-1.5, 0] })).toThrow(/randomZoom: heightFactor values must be >= -1/);
    expect(() => g.randomContrast(x, { factor: 1.5 })).toThrow(/randomContrast: factor must be in \[0, 1\]/);
  });
});

describe('contrast', () => {
  it('adjustContrast matches the oracle, with and without the [0, 255] clip', async () => {
    const { x, r } = images([3, 5, 7, 3], 14, 0, 255);
    const f = [0.3, 1.0, 1.9];
    await expectTensor(g.adjustContrast(x, f), contrastRef(r, f, 0, 255), { atol: 2e-4, rtol: 1e-5 }, 'clipped');
    await expectTensor(g.adjustContrast(x, f, { valueRange: null }), contrastRef(r, f), { atol: 2e-4, rtol: 1e-5 }, 'unclipped');
    const clipped = await g.adjustContrast(x, f).data();
    expect(Math.max(...clipped)).toBeLessThanOrEqual(255);
  });

  it('reduces large images correctly (many pixels per thread)', async () => {
    const { x, r } = images([2, 37, 41, 3], 15, 0, 255);
    await expectTensor(g.adjustContrast(x, [0.5, 1.5], { valueRange: [0, 1] }), contrastRef(r, [0.5, 1.5], 0, 1), { atol: 2e-4, rtol: 1e-5 });
    await expectTensor(g.adjustContrast(x, [0.5, 1.5], { valueRange: null }), contrastRef(r, [0.5, 1.5]), { atol: 2e-4, rtol: 1e-5 });
  });

  it('randomContrast draws factors in [1 - lower, 1 + upper] from the seed', async () => {
    const f = g.drawContrasts(500, [0.2, 0.5], rng(3));
    expect(Math.min(...f)).toBeGreaterThanOrEqual(0.8 - 1e-6);
    expect(Math.max(...f)).toBeLessThanOrEqual(1.5 + 1e-6);
    expect(Math.min(...f)).toBeLessThan(0.85);
    expect(Math.max(...f)).toBeGreaterThan(1.45);
    const { x, r } = images([4, 3, 5, 3], 16, 0, 255);
    const y = await g.randomContrast(x, { factor: 0.4, seed: 8 }).data();
    expectClose(y, contrastRef(r, g.drawContrasts(4, 0.4, rng(8)), 0, 255).data, { atol: 2e-4, rtol: 1e-5 });
  });
});
