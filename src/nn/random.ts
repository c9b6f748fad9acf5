// The seeded random stream behind initializers, dropout masks, augmentation seeds and shuffling.
// Its state is part of a full checkpoint, so a resumed run draws the same numbers as an uninterrupted one.

import { mulberry32Advance, mulberry32Float } from '../tensor/random.js';

let state = 0x9e3779b9 >>> 0;

/** Reseeds the stream (like keras.utils.set_random_seed). */
export function setSeed(seed: number): void {
  state = seed >>> 0;
}

/** The stream's state, saved in full checkpoints. */
export function getRngState(): number {
  return state;
}

/** Restores a state from getRngState(). */
export function setRngState(s: number): void {
  state = s >>> 0;
}

/** Next float in [0, 1) (mulberry32 step). */
export function nextRandom(): number {
  state = mulberry32Advance(state);
  return mulberry32Float(state);
}

/** A fresh 31-bit seed drawn from the stream (for ops and initializers that take a seed). */
export function nextSeed(): number {
  return Math.floor(nextRandom() * 0x7fffffff);
}

/** A permutation of [0, n) (Fisher-Yates on the stream). */
export function permutation(n: number): number[] {
  const p = [...Array(n).keys()];
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(nextRandom() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
