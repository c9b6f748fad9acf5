// Cross-entropy losses over the last axis, fused forward and backward (shaders/softmax.wgsl).
// Each returns the per-example loss (shape = input shape without the class axis); callers choose the reduction.

import { defineKernel, grid } from '../gpu/kernel.js';
import { Uniforms } from '../gpu/uniforms.js';
import { recordOp, Tensor } from '../tensor/tensor.js';
import { formatShape, shapesEqual, sizeOf } from '../tensor/shape.js';
import { checkFloat, checkSameDevice } from './checks.js';
import { mapBinary, mapUnary } from './elementwise.js';
import { sum } from './reduce.js';
import { ROW_WG, rawSoftmax, type RowParams } from './softmax.js';

/** Keras' backend epsilon: probabilities are clipped to [eps, 1 - eps] before the log. */
export const CROSSENTROPY_EPSILON = 1e-7;

interface CeParams extends RowParams {
  fromLogits: boolean;
  sparse: boolean;
}

const ceConstants = (p: CeParams) => ({ WG: ROW_WG, FROM_LOGITS: p.fromLogits ? 1 : 0, SPARSE: p.sparse ? 1 : 0, EPS: CROSSENTROPY_EPSILON });
const ceUniforms = (p: CeParams) => new Uniforms().u32(p.rows, p.len, p.inner);

const ceFwdKernel = defineKernel<CeParams>({
  name: 'ce_fwd',
  shader: 'softmax',
  entryPoint: 'ce_fwd',
  inputs: 2,
  outputs: 1,
  constants: ceConstants,
  uniforms: ceUniforms,
  workgroups: (p) => grid(Math.ceil(p.rows / ROW_WG)),
});

const ceBwdKernel = defineKernel<CeParams>({
  name: 'ce_bwd',
  shader: 'softmax',
  entryPoint: 'ce_bwd',
  inputs: 3,
  outputs: 1,
  constants: ceConstants,
  uniforms: ceUniforms,
  workgroups: (p) => grid(Math.ceil(p.rows / ROW_WG)),
});

function checkInputs(op: string, x: Tensor, labels: Tensor, sparse: boolean): void {
  checkFloat(op, x);
  checkSameDevice(op, x, labels);
  const both = `${what(op)} ${formatShape(x.shape)} and labels ${formatShape(labels.shape)}`;
  if (x.rank < 1) throw new Error(`Graft ${op}: ${both}: ${what(op)} need a class axis`);
  if (!sparse) {
    checkFloat(op, labels);
    if (!shapesEqual(x.shape, labels.shape)) throw new Error(`Graft ${op}: shapes differ: ${both}`);
    return;
  }
  if (labels.dtype !== 'int32') throw new Error(`Graft ${op}: labels must be int32 class ids, got ${labels.dtype}: ${both}`);
  const batch = x.shape.slice(0, -1);
  // NOTE: Keras also accepts sparse labels with a trailing dim of 1.
  if (!shapesEqual(labels.shape, batch) && !shapesEqual(labels.shape, [...batch, 1])) {
    throw new Error(`Graft ${op}: labels must have shape ${formatShape(batch)}: ${both}`);
  }
}

const what = (op: string) => (op.toLowerCase().includes('softmax') ? 'logits' : 'probabilities');

function crossEntropy(op: string, x: Tensor, labels: Tensor, fromLogits: boolean, sparse: boolean): Tensor {
  checkInputs(op, x, labels, sparse);
  const len = x.shape[x.rank - 1]!;
  const batch = x.shape.slice(0, -1);
  const p: CeParams = { rows: sizeOf(batch), len, inner: 1, fromLogits, sparse };
  const loss = new Tensor(x.device, batch, 'float32');
  x.device.run(ceFwdKernel, [x.buffer, labels.buffer], [loss.buffer], p);
  return recordOp(loss, [x, labels], op, (g, needs) => {
    let dx: Tensor | null = null;
    if (needs[0]) {
      dx = new Tensor(x.device, x.shape, 'float32');
      x.device.run(ceBwdKernel, [x.buffer, labels.buffer, g.buffer], [dx.buffer], p);
    }
    const dl = needs[1] && !sparse ? labelsGrad(x, g, p, fromLogits) : null;
    return [dx, dl];
  });
}

/** d loss / d labels = -g * log(prob): log-softmax for logits, the clipped normalized log for probabilities. */
function labelsGrad(x: Tensor, g: Tensor, p: CeParams, fromLogits: boolean): Tensor {
  const gk = new Tensor(g.device, [...g.shape, 1], 'float32', g);
  let logp: Tensor;
  if (fromLogits) {
    logp = rawSoftmax(x, p, 1);
  } else {
    // NOTE: backward runs under noGrad, so the recording ops here record nothing.
    const s = sum(x, -1, { keepDims: true });
    const q = mapBinary(x, s, 'div');
    const c = mapUnary(q, 'clip', CROSSENTROPY_EPSILON, 1 - CROSSENTROPY_EPSILON);
    logp = mapUnary(c, 'log');
    for (const t of [s, q, c]) t.dispose();
  }
  const prod = mapBinary(logp, gk, 'mul');
  const out = mapUnary(prod, 'neg');
  for (const t of [gk, logp, prod]) t.dispose();
  return out;
}

/**
 * Categorical cross-entropy from logits: sum_j labels_j * (logsumexp(x) - x_j) over the last axis, stable for any
 * magnitude. Labels are one-hot or probabilities of x's shape. Backward: (sum(labels) * softmax - labels) * g,
 * i.e. (softmax - labels) * g for labels that sum to 1.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return crossEntropy('softmaxCrossEntropy', logits, labels, true, false);
}

/**
 * Keras `categorical_crossentropy` on probabilities: probs are divided by their sum over the last axis, clipped to
 * [1e-7, 1 - 1e-7], and loss = -sum(labels * log(probs)). The backward follows that exact chain (zero through the clip).
 */
export function categoricalCrossentropy(probs: Tensor, labels: Tensor): Tensor {
  return crossEntropy('categoricalCrossentropy', probs, labels, false, false);
}

/**
 * Cross-entropy from logits with int32 class ids (shape = logits without the last axis, or with a trailing 1).
 * A label outside [0, classes) reads nothing out of bounds: that row's loss and gradient are NaN.
 */
export function sparseSoftmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return crossEntropy('sparseSoftmaxCrossEntropy', logits, labels, true, true);
}

/**
 * Keras `sparse_categorical_crossentropy` on probabilities with int32 class ids: -log(clip(p_k / sum(p))), the same
 * normalization and clip as categoricalCrossentropy (Keras 3). An out-of-range label gives NaN for its row.
 */
export function sparseCategoricalCrossentropy(probs: Tensor, labels: Tensor): Tensor {
  return crossEntropy('sparseCategoricalCrossentropy', probs, labels, false, true);
}
