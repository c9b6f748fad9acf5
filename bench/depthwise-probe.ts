// The depthwise family's correctness probe for bench/variants.ts: the forced variant's forward (bias, activation),
// input gradient and filter gradient against float64 sums straight from the definition, on shapes that cross tile
// edges: 3x3 and 5x5 taps, strides 1 and 2, 'same' / 'valid' / explicit pads, the vec4 and the scalar path.

import * as g from '../src/index.js';
import { convGeometry, type ConvGeometry } from '../src/ops/conv-geometry.js';
import { depthwiseBackwardFilter, depthwiseBackwardInput } from '../src/ops/depthwise-conv2d.js';
import { depthwiseConv2dRef, ref } from '../src/reference/index.js';

interface ProbeCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number;
  padding: 'same' | 'valid' | [number, number, number, number];
}

function probeCases(quick: boolean): ProbeCase[] {
  const all: ProbeCase[] = [
    { x: [2, 13, 11, 24], f: [3, 3, 24, 1], strides: 1, padding: 'same' },
    { x: [2, 15, 14, 72], f: [5, 5, 72, 1], strides: 2, padding: 'same' },
    { x: [1, 12, 12, 8], f: [5, 5, 8, 1], strides: 1, padding: 'valid' },
    { x: [1, 11, 12, 16], f: [3, 3, 16, 1], strides: 2, padding: [1, 2, 0, 1] },
    { x: [2, 9, 9, 6], f: [3, 3, 6, 2], strides: 2, padding: 'same' },
    { x: [2, 28, 28, 96], f: [3, 3, 96, 1], strides: 1, padding: 'same' },
  ];
  return quick ? all.slice(0, 3) : all;
}

/** dx, df and the magnitude sums of their products (sum |dy||w|, sum |x||dy|), in float64 from the definition. */
function gradients(geo: ConvGeometry, mult: number, x: Float32Array, f: Float32Array, dy: Float32Array) {
  const cout = geo.c * mult;
  const dx = new Float64Array(x.length);
  const dxMag = new Float64Array(x.length);
  const df = new Float64Array(f.length);
  const dfMag = new Float64Array(f.length);
  for (let n = 0; n < geo.n; n++) {
    for (let oy = 0; oy < geo.oh; oy++) {
      for (let ox = 0; ox < geo.ow; ox++) {
        for (let ky = 0; ky < geo.kh; ky++) {
          const ih = oy * geo.sh + ky * geo.dh - geo.padTop;
          if (ih < 0 || ih >= geo.h) continue;
          for (let kx = 0; kx < geo.kw; kx++) {
            const iw = ox * geo.sw + kx * geo.dw - geo.padLeft;
            if (iw < 0 || iw >= geo.w) continue;
            for (let oc = 0; oc < cout; oc++) {
              const xi = ((n * geo.h + ih) * geo.w + iw) * geo.c + Math.floor(oc / mult);
              const fi = (ky * geo.kw + kx) * cout + oc;
              const d = dy[((n * geo.oh + oy) * geo.ow + ox) * cout + oc]!;
              dx[xi]! += d * f[fi]!;
              dxMag[xi]! += Math.abs(d * f[fi]!);
              df[fi]! += x[xi]! * d;
              dfMag[fi]! += Math.abs(x[xi]! * d);
            }
          }
        }
      }
    }
  }
  return { dx, dxMag, df, dfMag };
}

function worstExcess(got: ArrayLike<number>, want: ArrayLike<number>, mag: ArrayLike<number>, rel: number): number {
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - (1e-5 + rel * mag[i]!));
  return worst;
}

/**
 * Probes depthwise variant `variant` (forced by the caller). Bounds: 1e-5 + rel * sum |products|, rel 2e-6 for f32
 * kernels (1e-5 for the filter gradient) and 2^-10 where 'f16' stages x (forward) or dy (input gradient) in f16 tiles.
 */
export async function probeDepthwise(variant: string, quick: boolean): Promise<string> {
  let seed = 100;
  const cases = probeCases(quick);
  for (const c of cases) {
    const geo = convGeometry('depthwiseConv2d', c.x, c.f, { strides: c.strides, padding: c.padding });
    const mult = c.f[3];
    const yShape = [geo.n, geo.oh, geo.ow, geo.c * mult];
    const x = g.randomUniform(c.x, -1, 1, { seed: seed++ });
    const f = g.randomUniform(c.f, -1, 1, { seed: seed++ });
    const bias = g.randomUniform([geo.c * mult], -1, 1, { seed: seed++ });
    const dy = g.randomUniform(yShape, -1, 1, { seed: seed++ });
    const [hx, hf, hb, hdy] = (await Promise.all([x, f, bias, dy].map((t) => t.data()))) as Float32Array[];
    const opts = { strides: c.strides, padding: c.padding };
    const want = depthwiseConv2dRef(ref(Float64Array.from(hx!), c.x), ref(Float64Array.from(hf!), c.f), { ...opts, bias: ref(Float64Array.from(hb!), [geo.c * mult]), activation: 'relu6' });
    const mag = depthwiseConv2dRef(ref(hx!.map(Math.abs), c.x), ref(hf!.map(Math.abs), c.f), opts);
    const y = g.depthwiseConv2d(x, f, { ...opts, bias, activation: 'relu6' });
    const dx = depthwiseBackwardInput(dy, f, geo);
    const df = depthwiseBackwardFilter(x, dy, c.f, geo);
    const [gy, gdx, gdf] = await Promise.all([y.data(), dx.data(), df.data()]);
    const grads = gradients(geo, mult, hx!, hf!, hdy!);
    const rel = variant === 'f16' ? 2 ** -10 : 2e-6;
    const what = `[${c.x}] * [${c.f}] stride ${c.strides} ${JSON.stringify(c.padding)}`;
    for (const [stage, excess] of [
      ['forward', worstExcess(gy, want.data, mag.data, rel)],
      ['input gradient', worstExcess(gdx, grads.dx, grads.dxMag, rel)],
      // NOTE: the filter gradient sums N*OH*OW*taps products per element (in chunks): a looser f32 bound.
      ['filter gradient', worstExcess(gdf, grads.df, grads.dfMag, 1e-5)],
    ] as const) {
      if (excess > 0) throw new Error(`depthwise variant '${variant}' ${stage} is wrong on ${what}: exceeds its bound by ${excess}`);
    }
    for (const t of [x, f, bias, dy, y, dx, df]) t.dispose();
  }
  return `${cases.length} cases x 3 stages within bound`;
}
