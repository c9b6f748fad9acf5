// The one seeded generator (src/tensor/random.ts) gives the streams Graft always gave: values pinned from the
// implementations it replaced (tensor.ts's rng, nn/random.ts, the fixture's Random, deriveSeed, epochSeed).
import { describe, expect, it } from 'vitest';
import { fmix32, rng } from '../src/tensor/random.js';
import { randomNormal } from '../src/tensor/tensor.js';
import { nextRandom, setSeed } from '../src/nn/random.js';
import { deriveSeed } from '../src/ops/augment-params.js';
import { Random } from '../tools/fixtures/efficientnet-params.js';
import { useDevice } from './helpers/gpu.js';

useDevice();

const RNG_42 = [0.6011037519201636, 0.44829055899754167, 0.8524657934904099];

describe('seeded streams', () => {
  it('rng(seed), the global stream and the fixture generator are one mulberry32 stream', () => {
    const r = rng(42);
    expect([r(), r(), r()]).toEqual(RNG_42);
    setSeed(42);
    expect([nextRandom(), nextRandom(), nextRandom()]).toEqual(RNG_42);
    const f = new Random(42);
    expect([f.uniform(), f.uniform(), f.uniform()]).toEqual(RNG_42);
  });

  it('randomNormal draws Box–Muller pairs (cos, sin) from 1 - r() and r()', async () => {
    const t = randomNormal([5], 0.5, 0.1, { seed: 7 });
    expect(await t.array()).toEqual([0.514197051525116, 0.505824089050293, 0.4135746955871582, 0.23943190276622772, 0.39936336874961853]);
    t.dispose();
  });

  it('seed mixing (augmentation per step, shuffling per epoch) is unchanged', () => {
    expect([deriveSeed(123, 5), deriveSeed(0xffffffff, 0xfffffff0)]).toEqual([2036849313, 1256076558]);
    expect(fmix32((123 ^ Math.imul(1, 0x9e3779b1)) >>> 0)).toBe(2933826937);
    expect(fmix32(((2 ** 31 + 5) ^ Math.imul(10, 0x9e3779b1)) >>> 0)).toBe(316408118);
  });
});
