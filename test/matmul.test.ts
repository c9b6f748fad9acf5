// matmul: forward vs the float64 oracle (shapes, transposes, broadcasting, epilogue, tiles), backward vs central differences.

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { chooseTile, matmulNaive, matmulRaw, type MatmulActivationName, type MatmulTile } from '../src/ops/matmul.js';
import { matmulRef } from '../src/reference/matmul.js';
import { ref, type RefTensor } from '../src/reference/index.js';
import { expectClose, expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';
import { flags, shapesFor, size } from './helpers/matmul-shapes.js';

useDevice();

interface Case {
  sa: number[];
  sb: number[];
  ta?: boolean;
  tb?: boolean;
  bias?: boolean;
  act?: MatmulActivationName;
  tile?: MatmulTile;
  range?: [number, number];
}

let seed = 1;
async function check(c: Case, label: string): Promise<void> {
  const range = c.range ?? [-1, 1];
  const va = randomValues(size(c.sa), seed++, ...range);
  const vb = randomValues(size(c.sb), seed++, ...range);
  const n = c.tb ? c.sb[c.sb.length - 2]! : c.sb[c.sb.length - 1]!;
  const vbias = randomValues(n, seed++, -1, 1);
  const opts = { transposeA: c.ta, transposeB: c.tb, activation: c.act };
  const want = matmulRef(ref(va, c.sa), ref(vb, c.sb), { ...opts, bias: c.bias ? ref(vbias, [n]) : undefined });
  const a = g.tensor(va, c.sa);
  const b = g.tensor(vb, c.sb);
  const bias = c.bias ? g.tensor(vbias, [n]) : undefined;
  const got = c.tile ? matmulRaw(a, b, { ...opts, bias }, c.tile) : g.matmul(a, b, { ...opts, bias });
  await expectTensor(got, want, { atol: 2e-5, rtol: 1e-4 }, label);
  for (const t of [a, b, bias, got]) t?.dispose();
}

describe('matmul forward', () => {
  // Odd sizes, sizes straddling the 4-wide blocks and 8x8 workgroups, K = 1, and multiples of 4 (vec4 kernel).
  const sizes: [number, number, number][] = [
    [1, 1, 1], [7, 13, 5], [33, 65, 17], [9, 1, 7], [31, 33, 35], [12, 16, 20], [36, 40, 44], [65, 8, 36], [4, 4, 4], [5, 12, 8],
  ];
  for (const [ta, tb] of flags) {
    it(`matches the oracle on odd and tile-straddling sizes (transposeA ${ta}, transposeB ${tb})`, async () => {
      for (const [m, k, n] of sizes) {
        const { sa, sb } = shapesFor(m, k, n, ta, tb);
        await check({ sa, sb, ta, tb }, `${m}x${k}x${n} ta=${ta} tb=${tb}`);
      }
    });
  }

  it('returns zeros for K = 0 and empty outputs for M = 0 or N = 0', async () => {
    for (const [ta, tb] of flags) {
      for (const [m, k, n] of [[4, 0, 3], [0, 5, 3], [3, 4, 0], [8, 0, 8]] as const) {
        const { sa, sb } = shapesFor(m, k, n, ta, tb);
        const out = g.matmul(g.zeros(sa), g.zeros(sb), { transposeA: ta, transposeB: tb });
        expect([...out.shape]).toEqual([m, n]);
        // NOTE: the pool hands back dirty buffers, so zeros here come from the kernel, not from a fresh allocation.
        expect(await out.array()).toEqual(new Array(m * n).fill(0));
      }
    }
    await check({ sa: [4, 0], sb: [0, 3], bias: true, act: 'sigmoid' }, 'K=0 with bias: act(bias)');
  });

  it('broadcasts batch dimensions NumPy-style', async () => {
    const cases: [number[], number[]][] = [
      [[2, 3], []],
      [[], [2]],
      [[2, 1], [3]],
      [[3], [3]],
      [[1, 2], [2, 1]],
      [[2, 1, 3], [1, 2, 1]],
    ];
    for (const [ab, bb] of cases) {
      for (const [ta, tb] of flags) {
        for (const [m, k, n] of [[5, 7, 3], [8, 12, 16]] as const) {
          const { sa, sb } = shapesFor(m, k, n, ta, tb, ab, bb);
          await check({ sa, sb, ta, tb }, `[${sa}] x [${sb}] ta=${ta} tb=${tb}`);
        }
      }
    }
  });

  it('fuses bias and every activation', async () => {
    const acts: MatmulActivationName[] = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'silu'];
    for (const act of acts) {
      for (const [m, k, n] of [[13, 17, 11], [16, 16, 16]] as const) {
        await check({ sa: [m, k], sb: [k, n], bias: true, act, range: [-2, 2] }, `${act} ${m}x${k}x${n} with bias`);
        await check({ sa: [2, k, m], sb: [n, k], ta: true, tb: true, act, range: [-2, 2] }, `${act} batched, transposed, no bias`);
      }
    }
  });

  it('is exact for every register tile, aligned or not', async () => {
    // NOTE: every tile is a pipeline per kernel layout, and lavapipe takes seconds to compile an 8x8 block:
    // a few tiles cover the code paths (tm below, at and above 4 and 8; one and two column groups; lanes along N or M).
    const layouts: [number, number, number, boolean, boolean][] = [
      [37, 21, 29, false, false], // scalar kernel
      [40, 24, 36, false, false], // vec4 kernel, row-major layouts
      [40, 23, 36, true, false], // vec4 along M and N with a K tail when tm % 4 == 0, else scalar
      [40, 24, 36, true, true], // vec4 with both transposed layouts when tm % 4 == 0, else scalar
      [40, 24, 36, false, true], // vec4 along K for both
    ];
    const cases: [MatmulTile, number[]][] = [
      [{ wgx: 3, wgy: 5, tm: 1, tn4: 2 }, [0, 1]],
      [{ wgx: 3, wgy: 5, tm: 5, tn4: 1 }, [0, 4]],
      [{ wgx: 2, wgy: 1, tm: 12, tn4: 1 }, [0]],
      // The production 8x8 block (chooseTile on large shapes); its layouts 2 and 4 share code with the ones above.
      [{ wgx: 16, wgy: 1, tm: 8, tn4: 2 }, [0, 1, 3]],
    ];
    for (const [tile, which] of cases) {
      for (const w of which) {
        const [m, k, n, ta, tb] = layouts[w]!;
        const { sa, sb } = shapesFor(m, k, n, ta, tb);
        await check({ sa, sb, ta, tb, tile, bias: true, act: 'relu' }, `tile ${JSON.stringify(tile)} ${m}x${k}x${n} ta=${ta} tb=${tb}`);
      }
    }
  });

  it('handles the shapes the tile chooser treats specially (skinny N, tiny M)', async () => {
    for (const [m, k, n] of [[200, 32, 16], [130, 9, 2], [3, 40, 70], [2, 64, 20]] as const) {
      const tile = chooseTile(m, n, k);
      expect(tile.tm).toBeGreaterThan(0);
      await check({ sa: [m, k], sb: [k, n], bias: true }, `${m}x${k}x${n}`);
    }
  });

  it('keeps the naive baseline correct', async () => {
    for (const [ta, tb] of flags) {
      const { sa, sb } = shapesFor(19, 23, 10, ta, tb);
      const va = randomValues(size(sa), 90);
      const vb = randomValues(size(sb), 91);
      const out = matmulNaive(g.tensor(va, sa), g.tensor(vb, sb), { transposeA: ta, transposeB: tb });
      await expectTensor(out, matmulRef(ref(va, sa), ref(vb, sb), { transposeA: ta, transposeB: tb }), { atol: 2e-5, rtol: 1e-4 }, 'naive');
    }
  });
});

describe('matmul errors', () => {
  it('names the op and both shapes', () => {
    const a = g.zeros([2, 3]);
    expect(() => g.matmul(a, g.zeros([4, 5]))).toThrow('Graft matmul: inner dimensions differ: a [2,3] and b [4,5] give K = 3 and 4');
    expect(() => g.matmul(a, g.zeros([5, 4]), { transposeB: true })).toThrow('a [2,3] and b [5,4] (transposeB) give K = 3 and 4');
    expect(() => g.matmul(g.zeros([2, 2, 3]), g.zeros([3, 3, 4]))).toThrow(
      'Graft matmul: batch dimensions of a [2,2,3] and b [3,3,4] cannot be broadcast',
    );
    expect(() => g.matmul(a, g.zeros([3, 4]), { bias: g.zeros([3]) })).toThrow(
      'Graft matmul: bias [3] must have shape [4] (N) for a [2,3] and b [3,4]',
    );
    expect(() => g.matmul(g.zeros([3]), g.zeros([3, 4]))).toThrow('Graft matmul: both inputs need rank >= 2, got a [3] and b [3,4]');
    expect(() => g.matmul(a, g.zeros([3, 4]), { activation: 'gelu' as MatmulActivationName })).toThrow("unknown activation 'gelu'");
  });
});

type Opts = { ta?: boolean; tb?: boolean; act?: MatmulActivationName; bias?: boolean };

function gradCase(sa: number[], sb: number[], o: Opts, mode?: 'full' | 'directional') {
  const n = o.tb ? sb[sb.length - 2]! : sb[sb.length - 1]!;
  const shapes = o.bias ? [sa, sb, [n]] : [sa, sb];
  const opts = { transposeA: o.ta, transposeB: o.tb, activation: o.act };
  return {
    shapes,
    mode,
    gpu: (xs: g.Tensor[]) => g.matmul(xs[0]!, xs[1]!, { ...opts, bias: xs[2] }),
    ref: (xs: RefTensor[]) => matmulRef(xs[0]!, xs[1]!, { ...opts, bias: xs[2] }),
  };
}

describe('matmul backward', () => {
  for (const [ta, tb] of flags) {
    it(`gradients of a, b and bias match central differences (full, transposeA ${ta}, transposeB ${tb})`, async () => {
      const { sa, sb } = shapesFor(3, 5, 4, ta, tb);
      await gradCheck(gradCase(sa, sb, { ta, tb, bias: true }));
      const w = shapesFor(6, 4, 8, ta, tb);
      await gradCheck(gradCase(w.sa, w.sb, { ta, tb, bias: true, act: 'tanh' }));
    });
  }

  it('goes through every activation (full)', async () => {
    for (const act of ['relu', 'relu6', 'sigmoid', 'tanh', 'silu'] as const) {
      await gradCheck({ ...gradCase([4, 6], [6, 5], { act, bias: true }), ranges: [[-3, 3], [-3, 3], [-1, 1]] });
    }
  });

  it('reduces over broadcast batch dimensions (full)', async () => {
    await gradCheck(gradCase([2, 3, 4], [4, 5], { bias: true, act: 'sigmoid' }));
    await gradCheck(gradCase([3, 4], [2, 4, 5], {}));
    await gradCheck(gradCase([2, 1, 4, 3], [3, 4, 2], { ta: true, tb: false }));
    await gradCheck(gradCase([2, 4, 3], [5, 4], { ta: true, tb: true, act: 'silu' }));
    await gradCheck(gradCase([2, 3, 4], [1, 5, 4], { tb: true, bias: true }));
  });

  it('matches on a realistic shape (directional, 64x96x80)', async () => {
    for (const [ta, tb] of flags) {
      const { sa, sb } = shapesFor(64, 96, 80, ta, tb);
      await gradCheck(gradCase(sa, sb, { ta, tb, bias: true, act: ta ? 'silu' : 'relu6' }, 'directional'));
    }
  });

  it('gives the same forward whether or not the tape records (silu keeps z when recording)', async () => {
    const va = randomValues(7 * 9, 300, -3, 3);
    const vb = randomValues(9 * 6, 301, -3, 3);
    const plain = await g.matmul(g.tensor(va, [7, 9]), g.tensor(vb, [9, 6]), { activation: 'silu' }).array();
    const taped = await g.matmul(g.tensor(va, [7, 9], { requiresGrad: true }), g.tensor(vb, [9, 6]), { activation: 'silu' }).array();
    expectClose(taped, plain, { atol: 1e-6, rtol: 1e-6 }, 'silu taped vs fused');
  });
});
