// The one seeded generator: mulberry32 for uniforms, Box–Muller for normals. Every stream in Graft (rng(seed), the
// global stream of src/nn/random.ts, fixtures, benches) is built from these, so a seed means the same numbers everywhere.

/** Advances a mulberry32 state by one step. */
export function mulberry32Advance(state: number): number {
  return (state + 0x6d2b79f5) >>> 0;
}

/** The float in [0, 1) that mulberry32 yields for a state that has just been advanced. */
export function mulberry32Float(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Seeded PRNG (mulberry32): floats in [0, 1), reproducible across runs and machines. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = mulberry32Advance(state);
    return mulberry32Float(state);
  };
}

/**
 * Box–Muller: two independent normal draws `mean + std·√(−2 ln u)·cos(2πv)` and `... sin(2πv)` from uniforms
 * u in (0, 1] and v in [0, 1). With a [0, 1) stream `r`, pass `1 - r()` as u so the logarithm stays finite.
 */
export function boxMuller(u: number, v: number, mean = 0, std = 1): [number, number] {
  const rad = Math.sqrt(-2 * Math.log(u));
  return [mean + std * rad * Math.cos(2 * Math.PI * v), mean + std * rad * Math.sin(2 * Math.PI * v)];
}

/** MurmurHash3's 32-bit finalizer: mixes a seed so that nearby inputs (seed, step, epoch) give unrelated streams. */
export function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
