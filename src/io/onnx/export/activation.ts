// Activations by Keras name as ONNX nodes (in whichever form the input has; softmax on the channel axis).

import type { ActivationName } from '../../../nn/activations.js';
import { float } from '../writer.js';
import type { Form, OnnxEmitter } from './emitter.js';

/** Emits activation `name` on x (rank `rank`, in `form`); returns the output name (x itself for linear). */
export function emitActivation(e: OnnxEmitter, x: string, name: ActivationName, rank: number, form: Form, where: string): string {
  switch (name) {
    case 'linear': return x;
    case 'relu': return e.node('Relu', [x], {}, where);
    case 'relu6': return e.clip(x, 0, 6, where);
    case 'sigmoid': return e.node('Sigmoid', [x], {}, where);
    case 'tanh': return e.node('Tanh', [x], {}, where);
    case 'silu': case 'swish': return e.node('Mul', [x, e.node('Sigmoid', [x], {}, `${where}_sigmoid`)], {}, where);
    case 'hardSigmoid': return e.node('HardSigmoid', [x], { alpha: float(0.2), beta: float(0.5) }, where);
    case 'hardSwish': return e.node('HardSwish', [x], {}, where);
    case 'softmax': return e.softmax(x, form === 'nchw' && rank === 4 ? 1 : -1, where);
    default: throw new Error(`Graft exportOnnx: activation '${name as string}' has no ONNX form`);
  }
}
