// Activation functions by Keras name.

import { hardSigmoid, hardSwish, relu, relu6, sigmoid, silu, softmax, tanh } from '../ops/index.js';
import type { Tensor } from '../tensor/tensor.js';

/** Activation names accepted by layers (Keras' names; 'swish' is 'silu'). */
export type ActivationName =
  | 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'tanh' | 'silu' | 'swish' | 'softmax' | 'hardSigmoid' | 'hardSwish';

const FNS: Record<ActivationName, (x: Tensor) => Tensor> = {
  linear: (x) => x,
  relu,
  relu6,
  sigmoid,
  tanh,
  silu,
  swish: silu,
  softmax: (x) => softmax(x, -1),
  hardSigmoid: (x) => hardSigmoid(x),
  hardSwish,
};

/** Checks and returns an activation name. */
export function checkActivation(where: string, name: string | undefined): ActivationName {
  const a = (name ?? 'linear') as ActivationName;
  if (!(a in FNS)) throw new Error(`Graft ${where}: unknown activation '${name}' (known: ${Object.keys(FNS).join(', ')})`);
  return a;
}

/** Applies the activation `name` (linear returns x itself). */
export function activate(name: ActivationName, x: Tensor): Tensor {
  return FNS[name](x);
}
