// The conv2d family's correctness probe (bench/variants.ts runs it for every variant): forward vs the float64
// reference on shapes that cross tile edges (3x3 and 5x5, strides 1 and 2, the stem's 3 input channels), and the
// backward stages through the adjoint identities <dy, conv(x, f)> = <dx, x> = <df, f> in float64.

import * as g from '../src/index.js';
import { convGeometry } from '../src/ops/conv-geometry.js';
import { conv2dBackwardFilter, conv2dBackwardInput } from '../src/ops/conv2d.js';
import { conv2dRef, ref, type RefTensor } from '../src/reference/index.js';

interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  stride: number;
}

function cases(quick: boolean): ConvCase[] {
  const out: ConvCase[] = [
    { x: [2, 17, 15, 3], f: [3, 3, 3, 32], stride: 2 },
    { x: [1, 13, 11, 8], f: [3, 3, 8, 40], stride: 1 },
  ];
  if (!quick) out.push({ x: [2, 12, 9, 5], f: [5, 5, 5, 70], stride: 2 }, { x: [2, 28, 28, 24], f: [3, 3, 24, 40], stride: 1 }, { x: [1, 9, 10, 12], f: [5, 5, 12, 20], stride: 1 });
  return out;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const absRef = (r: RefTensor): RefTensor => ref(r.data.map(Math.abs), r.shape);

/** Forward and both backward stages of the forced conv2d variant; throws naming the case and stage when wrong. */
export async function probeConv2d(variant: string, quick: boolean): Promise<string> {
  // NOTE: f16 tiles round operands to 11 bits (2^-9 per product with margin); f32 sums differ only by order.
  const rel = variant === 'f16' ? 2 ** -9 : 2e-6;
  let seed = 40;
  for (const c of cases(quick)) {
    const opts = { strides: c.stride, padding: 'same' as const };
    const geo = convGeometry('conv2d', c.x, c.f, opts);
    const yShape = [geo.n, geo.oh, geo.ow, c.f[3]];
    const x = g.randomUniform(c.x, -1, 1, { seed: seed++ });
    const f = g.randomUniform(c.f, -1, 1, { seed: seed++ });
    const dy = g.randomUniform(yShape, -1, 1, { seed: seed++ });
    const [rx, rf, rdy] = await Promise.all([x, f, dy].map(async (t) => ref(Float64Array.from(await t.data()), [...t.shape])));
    const want = conv2dRef(rx!, rf!, opts);
    const mag = conv2dRef(absRef(rx!), absRef(rf!), opts);
    const outs = [g.conv2d(x, f, opts), conv2dBackwardInput(dy, f, geo), conv2dBackwardFilter(x, dy, f.shape, geo)];
    const [y, dx, df] = await Promise.all(outs.map((t) => t.data()));
    for (const t of [x, f, dy, ...outs]) t.dispose();
    const name = `conv2d variant '${variant}' on x [${c.x}] f [${c.f}] stride ${c.stride}`;
    for (let i = 0; i < y!.length; i++) {
      const excess = Math.abs(y![i]! - want.data[i]!) - (1e-5 + rel * mag.data[i]!);
      if (excess > 0) throw new Error(`${name}: forward y[${i}] exceeds its bound by ${excess}`);
    }
    const lhs = dot(rdy!.data, want.data);
    const bound = 1e-5 + 4 * rel * dot(rdy!.data.map(Math.abs), mag.data);
    const [ax, af] = [dot(dx!, rx!.data), dot(df!, rf!.data)];
    if (!(Math.abs(ax - lhs) <= bound)) throw new Error(`${name}: backward input: <dx, x> = ${ax}, <dy, y> = ${lhs} (bound ${bound})`);
    if (!(Math.abs(af - lhs) <= bound)) throw new Error(`${name}: backward filter: <df, f> = ${af}, <dy, y> = ${lhs} (bound ${bound})`);
  }
  return `${cases(quick).length} cases (forward, backward input, backward filter) within bound`;
}
