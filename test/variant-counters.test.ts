// GPU work counters (src/gpu/counters.ts): dispatches, bytes bound to kernels, submits and memory, counted by
// wrapping Dawn's WebGPU methods (the same way for Graft and a peer in the same process).

import { globals } from 'webgpu';
import { describe, expect, it } from 'vitest';
import * as g from '../src/index.js';
import { countWork, instrumentWebGpu, memoryOf, type WebGpuClasses } from '../src/gpu/counters.js';
import { bucketSize } from '../src/gpu/buffer-pool.js';
import { withVariant } from '../src/gpu/variants.js';
import { useDevice } from './helpers/gpu.js';

const device = useDevice();

describe('GPU counters', () => {
  it('counts one dispatch, its bound storage bytes and the submit of a matmul', async () => {
    instrumentWebGpu(globals as unknown as WebGpuClasses);
    const a = g.randomUniform([30, 20], -1, 1, { seed: 1 });
    const b = g.randomUniform([20, 10], -1, 1, { seed: 2 });
    const bias = g.zeros([10]);
    await device().sync();
    let out: g.Tensor | null = null;
    const c = await countWork(
      device().gpu,
      () => (out = withVariantSync(() => g.matmul(a, b, { bias }))),
      () => device().sync(),
    );
    expect(c.dispatches).toBe(1);
    expect(c.submits).toBe(1);
    // a, b, bias and the output are bound as storage; pooled buffers are bucket-sized.
    expect(c.kernelBytes).toBe(bucketSize(30 * 20 * 4) + bucketSize(20 * 10 * 4) + bucketSize(10 * 4) + bucketSize(30 * 10 * 4));
    expect(c.buffersCreated).toBeLessThanOrEqual(1);
    for (const t of [a, b, bias, out!]) t.dispose();
  });

  it('tracks live and peak bytes per device through createBuffer and destroy', async () => {
    const d = device();
    d.flush();
    d.pool.trim();
    const live0 = memoryOf(d.gpu).liveBytes;
    const bytes = (3 << 20) + 12;
    const c = await countWork(
      d.gpu,
      () => {
        g.zeros([bytes / 4]).dispose();
        d.flush(); // NOTE: released buffers return to the pool at the next submit; trim destroys pooled ones
        d.pool.trim();
      },
      () => d.sync(),
    );
    expect(c.peakBytes - live0).toBeGreaterThanOrEqual(bucketSize(bytes));
    expect(c.liveBytes).toBe(live0);
    expect(c.buffersCreated).toBeGreaterThanOrEqual(1);
  });

  it('refuses to count before instrumentation is installed', async () => {
    const restore = instrumentWebGpu(globals as unknown as WebGpuClasses);
    restore();
    await expect(countWork(device().gpu, () => undefined, async () => undefined)).rejects.toThrow('call instrumentWebGpu');
    instrumentWebGpu(globals as unknown as WebGpuClasses);
  });
});

/** Runs fn with the register matmul forced (the counted dispatch count depends on the variant: all are one dispatch). */
function withVariantSync<T>(fn: () => T): T {
  let out: T | undefined;
  void withVariant('matmul', 'register', () => {
    out = fn();
  });
  return out!;
}
