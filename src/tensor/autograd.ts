// Reverse-mode autograd over the define-by-run tape recorded by ops.

import { keep, noGrad } from './engine.js';
import { setBackwardImpl, type Tensor } from './tensor.js';
import { formatShape, shapesEqual } from './shape.js';

/** Adds two same-shape gradients; set by the ops layer (which owns the add kernel). */
let addGrads: ((a: Tensor, b: Tensor) => Tensor) | null = null;
let onesLike: ((t: Tensor) => Tensor) | null = null;

export function setAutogradOps(add: (a: Tensor, b: Tensor) => Tensor, ones: (t: Tensor) => Tensor): void {
  addGrads = add;
  onesLike = ones;
}

/** Tensors reachable from `root` through recorded nodes, in topological order (inputs first). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // NOTE: iterative DFS: EfficientNet-sized graphs overflow a recursive one.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i]!;
      if (!seen.has(next) && next.requiresGrad) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Backpropagates from `root`: every leaf that requires grad gets `.grad` (accumulated with any existing one).
 * The tape is consumed: nodes are cleared after use.
 */
function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`Graft backward: tensor ${formatShape(root.shape)} does not require grad`);
  if (!seed && root.size !== 1) {
    throw new Error(`Graft backward: a gradient is needed for non-scalar tensor ${formatShape(root.shape)}`);
  }
  if (seed && !shapesEqual(seed.shape, root.shape)) {
    throw new Error(`Graft backward: gradient shape ${formatShape(seed.shape)} does not match tensor ${formatShape(root.shape)}`);
  }
  noGrad(() => {
    const order = topoOrder(root);
    const grads = new Map<Tensor, Tensor>();
    grads.set(root, seed ?? onesLike!(root));
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.node;
      if (!node) {
        // A leaf: accumulate into .grad, outside any tidy scope.
        const acc = t.grad ? addGrads!(t.grad, g) : g === seed ? g.detach() : g;
        if (t.grad && t.grad !== acc) {
          t.grad.dispose();
          if (g !== seed) g.dispose();
        }
        t.grad = keep(acc);
        continue;
      }
      const needs = node.inputs.map((x) => x.requiresGrad);
      const inGrads = node.backward(g, needs);
      const stored = new Set<Tensor>();
      node.inputs.forEach((x, i) => {
        let gi = inGrads[i];
        if (!needs[i] || !gi) return;
        // NOTE: an op may hand the same tensor to two inputs (add(x, x)); each stored gradient must own its buffer.
        if (stored.has(gi)) gi = gi.detach();
        stored.add(gi);
        if (!shapesEqual(gi.shape, x.shape)) {
          throw new Error(`Graft backward of ${node.name}: gradient ${formatShape(gi.shape)} for input ${i} of shape ${formatShape(x.shape)}`);
        }
        const prev = grads.get(x);
        if (prev) {
          grads.set(x, addGrads!(prev, gi));
          prev.dispose();
          stored.delete(gi);
          if (gi !== g && gi !== seed) gi.dispose();
        } else {
          grads.set(x, gi);
        }
      });
      // NOTE: free the consumed gradient early: backward through a deep net would otherwise hold every one.
      if (g !== seed && !stored.has(g)) g.dispose();
      t.node = null;
    }
  });
}

setBackwardImpl(backward);

/** Clears `.grad` of the given tensors (disposing the gradient buffers). */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}
