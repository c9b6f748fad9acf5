// Every matmul variant, forced in turn, through the oracle comparisons and gradient checks of test/matmul.test.ts
// (a representative subset: each variant is its own pipeline, and lavapipe compiles a 256-invocation one slowly).

import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { capsOf, forceVariant, unsupportedReason, withVariant } from '../src/gpu/variants.js';
import { MATMUL_VARIANTS, matmulVariant, type MatmulActivationName, type MatmulVariant } from '../src/ops/matmul.js';
import { matmulRef } from '../src/reference/matmul.js';
import { ref, type RefTensor } from '../src/reference/index.js';
import { expectTensor, gradCheck, randomValues } from './helpers/check.js';
import { useDevice } from './helpers/gpu.js';
import { flags, shapesFor, size } from './helpers/matmul-shapes.js';

const device = useDevice();

const abs = (r: RefTensor): RefTensor => ({ shape: r.shape, data: r.data.map(Math.abs) });

interface Case {
  sa: number[];
  sb: number[];
  ta?: boolean;
  tb?: boolean;
  bias?: boolean;
  act?: MatmulActivationName;
}

let seed = 500;
/**
 * f32 variants: the forward tolerance of test/matmul.test.ts. f16 tiles: inputs are rounded to f16 (relative error
 * <= 2^-10 each, so <= 2^-9 per product), so |got - want| <= 2^-9 * sum_k |a||b| + the f32 bound, times the
 * activation's Lipschitz constant (<= 1.1, silu).
 */
async function check(variant: MatmulVariant, c: Case, label: string): Promise<void> {
  const va = randomValues(size(c.sa), seed++, -2, 2);
  const vb = randomValues(size(c.sb), seed++, -2, 2);
  const n = c.tb ? c.sb[c.sb.length - 2]! : c.sb[c.sb.length - 1]!;
  const vbias = randomValues(n, seed++);
  const opts = { transposeA: c.ta, transposeB: c.tb, activation: c.act };
  const ra = ref(va, c.sa);
  const rb = ref(vb, c.sb);
  const want = matmulRef(ra, rb, { ...opts, bias: c.bias ? ref(vbias, [n]) : undefined });
  const a = g.tensor(va, c.sa);
  const b = g.tensor(vb, c.sb);
  const bias = c.bias ? g.tensor(vbias, [n]) : undefined;
  const got = await withVariant('matmul', variant, () => g.matmul(a, b, { ...opts, bias }));
  if (variant !== 'f16') {
    await expectTensor(got, want, { atol: 2e-5, rtol: 1e-4 }, `${variant} ${label}`);
  } else {
    const mag = matmulRef(abs(ra), abs(rb), { transposeA: c.ta, transposeB: c.tb });
    const data = await got.data();
    expect([...got.shape]).toEqual(want.shape);
    for (let i = 0; i < data.length; i++) {
      const bound = 1.1 * 2 ** -9 * mag.data[i]! + 2e-5 + 1e-4 * Math.abs(want.data[i]!);
      if (!(Math.abs(data[i]! - want.data[i]!) <= bound)) {
        throw new Error(`f16 ${label} mismatch at ${i}: got ${data[i]}, want ${want.data[i]} (bound ${bound})`);
      }
    }
  }
  for (const t of [a, b, bias, got]) t?.dispose();
}

for (const variant of MATMUL_VARIANTS) {
  describe(`matmul variant '${variant}'`, () => {
    const runnable = () => {
      const why = unsupportedReason(capsOf(device()), {
        features: variant === 'subgroup' ? ['subgroups'] : variant === 'f16' ? ['shader-f16'] : [],
      });
      return why === null;
    };

    it('matches the oracle on odd, tile-straddling and aligned sizes, every transpose', async () => {
      if (!runnable()) {
        // NOTE: an adapter without the feature must refuse the forced variant with a message naming it.
        const restore = forceVariant('matmul', variant);
        try {
          expect(() => g.matmul(g.zeros([4, 4]), g.zeros([4, 4]))).toThrow(`variant '${variant}' cannot run on this adapter`);
        } finally {
          restore();
        }
        return;
      }
      // 1x1x1, odd sizes below and across a 64x64 tile and TK = 16/32, K = 1, and multiples of 4 (vec4 loads).
      const sizes: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [67, 37, 66], [9, 1, 7], [40, 36, 44], [8, 132, 12]];
      for (const [ta, tb] of flags) {
        for (const [m, k, n] of sizes) {
          const { sa, sb } = shapesFor(m, k, n, ta, tb);
          await check(variant, { sa, sb, ta, tb, bias: true, act: 'relu' }, `${m}x${k}x${n} ta=${ta} tb=${tb}`);
        }
      }
    });

    it('broadcasts batch dimensions and fuses every activation', async () => {
      if (!runnable()) return;
      for (const [ab, bb] of [[[2, 3], []], [[2, 1], [3]], [[3], [3]]] as [number[], number[]][]) {
        for (const [ta, tb] of flags) {
          const { sa, sb } = shapesFor(12, 8, 16, ta, tb, ab, bb);
          await check(variant, { sa, sb, ta, tb }, `[${sa}] x [${sb}] ta=${ta} tb=${tb}`);
        }
      }
      for (const act of ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'silu'] as const) {
        await check(variant, { sa: [13, 17], sb: [17, 11], bias: true, act }, `${act} with bias`);
      }
      await check(variant, { sa: [4, 0], sb: [0, 3], bias: true, act: 'sigmoid' }, 'K = 0: act(bias)');
    });

    it('gives gradients that match central differences', async () => {
      if (!runnable()) return;
      // NOTE: f16 tiles round each operand to 11 bits: its gradients get a stated 2e-2 bound instead of 2e-3.
      const tol = variant === 'f16' ? { atol: 2e-2, rtol: 2e-2 } : undefined;
      const dtol = variant === 'f16' ? { atol: 2e-3, rtol: 2e-2 } : undefined;
      await withVariant('matmul', variant, async () => {
        for (const [ta, tb] of flags) {
          const { sa, sb } = shapesFor(3, 5, 4, ta, tb);
          const opts = { transposeA: ta, transposeB: tb, activation: 'tanh' as const };
          await gradCheck({
            shapes: [sa, sb, [4]],
            tol,
            gpu: (xs) => g.matmul(xs[0]!, xs[1]!, { ...opts, bias: xs[2] }),
            ref: (xs) => matmulRef(xs[0]!, xs[1]!, { ...opts, bias: xs[2] }),
          });
        }
        const { sa, sb } = shapesFor(64, 96, 80, true, false);
        await gradCheck({
          shapes: [sa, sb],
          mode: 'directional',
          tol: dtol,
          gpu: (xs) => g.matmul(xs[0]!, xs[1]!, { transposeA: true, activation: 'relu6' }),
          ref: (xs) => matmulRef(xs[0]!, xs[1]!, { transposeA: true, activation: 'relu6' }),
        });
      });
    });
  });
}

describe('variant selection', () => {
  it('runs the forced variant, restores the previous choice, and rejects unknown names', () => {
    const a = g.zeros([8, 8]);
    expect(matmulVariant(a, a)).toBe('register');
    const restore = forceVariant('matmul', 'tiled');
    expect(matmulVariant(a, a)).toBe('tiled');
    const inner = forceVariant('matmul', 'nope');
    expect(() => g.matmul(a, a)).toThrow("Graft matmul: unknown variant 'nope' (known: register, tiled, subgroup, f16)");
    inner();
    expect(matmulVariant(a, a)).toBe('tiled');
    restore();
    expect(matmulVariant(a, a)).toBe('register');
  });

  it("names the limit a specialization exceeds on a smaller adapter", () => {
    const caps = {
      features: new Set<string>(['shader-f16']),
      limits: { maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupStorageSize: 16384 },
    };
    expect(unsupportedReason(caps, { features: ['subgroups'] })).toBe("the adapter lacks the 'subgroups' feature");
    expect(unsupportedReason(caps, { workgroup: [16, 16] })).toBe('workgroup of 256 invocations exceeds maxComputeInvocationsPerWorkgroup 128');
    expect(unsupportedReason(caps, { workgroup: [512, 1] })).toBe("workgroup 512x1 exceeds the adapter's 256x256");
    expect(unsupportedReason(caps, { workgroupBytes: 16385 })).toBe('16385 bytes of workgroup memory exceed maxComputeWorkgroupStorageSize 16384');
    expect(unsupportedReason(caps, { features: ['shader-f16'], workgroup: [8, 16], workgroupBytes: 16384 })).toBeNull();
  });
});
