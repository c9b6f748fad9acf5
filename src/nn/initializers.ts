// Weight initializers with Keras' names and defaults, seeded from the stream in random.ts.

import { fill, randomNormal, randomUniform, type Tensor } from '../tensor/tensor.js';
import { nextSeed } from './random.js';

/** Initializer names (Keras' camelCase). */
export type InitializerName =
  | 'zeros' | 'ones' | 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'randomNormal' | 'randomUniform';

/** Fan-in and fan-out of a kernel shape, as Keras computes them (receptive field times channels). */
export function fans(shape: readonly number[]): [number, number] {
  if (shape.length < 2) return [shape[0] ?? 1, shape[0] ?? 1];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2]! * receptive, shape[shape.length - 1]! * receptive];
}

/** Creates a tensor of `shape` initialized by `name`. */
export function initialize(name: InitializerName, shape: readonly number[]): Tensor {
  const [fanIn, fanOut] = fans(shape);
  const seed = nextSeed();
  switch (name) {
    case 'zeros':
      return fill(shape, 0);
    case 'ones':
      return fill(shape, 1);
    case 'glorotUniform': {
      const lim = Math.sqrt(6 / (fanIn + fanOut));
      return randomUniform(shape, -lim, lim, { seed });
    }
    case 'heUniform': {
      const lim = Math.sqrt(6 / fanIn);
      return randomUniform(shape, -lim, lim, { seed });
    }
    // Porting note: Keras draws the *Normal initializers from a truncated normal; a plain normal is close enough here.
    case 'glorotNormal':
      return randomNormal(shape, 0, Math.sqrt(2 / (fanIn + fanOut)), { seed });
    case 'heNormal':
      return randomNormal(shape, 0, Math.sqrt(2 / fanIn), { seed });
    case 'randomNormal':
      return randomNormal(shape, 0, 0.05, { seed });
    case 'randomUniform':
      return randomUniform(shape, -0.05, 0.05, { seed });
    default:
      throw new Error(`Graft: unknown initializer '${name as string}'`);
  }
}
