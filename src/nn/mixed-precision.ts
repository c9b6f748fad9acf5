// Dtype policies as Keras spells them (keras.mixed_precision): 'float32', or 'mixed_float16' (f16 compute, float32
// variables). A layer takes its policy at construction (default: the global one) and runs its call, and the backward
// of the ops its call records, at the policy's compute precision, so kernels pick their f16 variants.
// Porting note: Graft has no float16 tensor dtype. Tensors stay float32 in memory between kernels; under
// 'mixed_float16' the f16 lives in the kernels' storage tiles (operands rounded to f16, accumulation in f32), so the
// speed-up is in the kernels' arithmetic and workgroup memory, not in the size of activations.
// As in Keras, give the model's last layer dtype 'float32' (e.g. `dense({units, activation: 'softmax', dtype:
// 'float32'})`) so that the output and the loss are computed in float32 precision under a mixed global policy.

import type { ComputePrecision } from '../gpu/variants.js';

/** The policy names Graft knows. */
export type PolicyName = 'float32' | 'mixed_float16';

const POLICY_NAMES: readonly PolicyName[] = ['float32', 'mixed_float16'];

/** A dtype policy (Keras `DTypePolicy`): the dtype layers compute in and the dtype their variables are stored in. */
export class Policy {
  /** 'float32' or 'mixed_float16'. */
  readonly name: PolicyName;

  constructor(name: PolicyName) {
    if (!POLICY_NAMES.includes(name)) {
      throw new Error(`Graft mixedPrecision: unknown dtype policy '${String(name)}' (known: ${POLICY_NAMES.join(', ')})`);
    }
    this.name = name;
  }

  /** The dtype the layer's kernels compute in: 'float16' under 'mixed_float16' (f16 tiles, f32 accumulation). */
  get computeDtype(): ComputePrecision {
    return this.name === 'mixed_float16' ? 'float16' : 'float32';
  }

  /** The dtype of the layer's weights: always 'float32' (the master weights the optimizer updates). */
  get variableDtype(): 'float32' {
    return 'float32';
  }

  toString(): string {
    return `<Policy "${this.name}">`;
  }
}

let global = new Policy('float32');

/**
 * Sets the policy that layers constructed from now on take when they get no `dtype` (Keras
 * `set_global_policy`). Layers built before keep theirs.
 */
export function setGlobalPolicy(policy: PolicyName | Policy): void {
  global = policyOf(policy);
}

/** The global dtype policy (default 'float32'). */
export function globalPolicy(): Policy {
  return global;
}

/** A Policy from a name or a Policy (what a layer's `dtype` argument takes). */
export function policyOf(p: PolicyName | Policy): Policy {
  return p instanceof Policy ? p : new Policy(p);
}
