// Reverse-mode autograd over the define-by-run tape recorded by ops.

import { keep, noGrad, type Tracked } from './engine.js';
import { formatShape, shapesEqual } from './shape.js';

/**
 * What autograd reads and writes of a tensor: tensor.ts's Tensor, kept structural (T is Tensor) so that tensor.ts
 * can import this file.
 */
export interface GradTensor<T extends GradTensor<T>> extends Tracked {
  readonly shape: readonly number[];
  readonly size: number;
  requiresGrad: boolean;
  grad: T | null;
  node: { name: string; inputs: T[]; backward: (grad: T, needs: readonly boolean[]) => (T | null)[] } | null;
  detach(): T;
}

/** The ops backward needs: same-shape gradient accumulation and the ones seed of a scalar root. */
export interface BackwardOps<T> {
  add(a: T, b: T): T;
  onesLike(t: T): T;
}

/** Tensors reachable from `root` through recorded nodes, in topological order (inputs first). */
function topoOrder<T extends GradTensor<T>>(root: T): T[] {
  const order: T[] = [];
  const seen = new Set<T>();
  // NOTE: iterative DFS: EfficientNet-sized graphs overflow a recursive one.
  const stack: [T, number][] = [[root, 0]];
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
 * The tape is consumed: nodes are cleared after use. `Tensor.backward()` calls this.
 */
export function backward<T extends GradTensor<T>>(root: T, seed: T | undefined, ops: BackwardOps<T>): void {
  if (!root.requiresGrad) throw new Error(`Graft backward: tensor ${formatShape(root.shape)} does not require grad`);
  if (!seed && root.size !== 1) {
    throw new Error(`Graft backward: a gradient is needed for non-scalar tensor ${formatShape(root.shape)}`);
  }
  if (seed && !shapesEqual(seed.shape, root.shape)) {
    throw new Error(`Graft backward: gradient shape ${formatShape(seed.shape)} does not match tensor ${formatShape(root.shape)}`);
  }
  noGrad(() => {
    const order = topoOrder(root);
    const grads = new Map<T, T>();
    grads.set(root, seed ?? ops.onesLike(root));
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.node;
      if (!node) {
        // A leaf: accumulate into .grad, outside any tidy scope.
        const acc = t.grad ? ops.add(t.grad, g) : g === seed ? g.detach() : g;
        if (t.grad && t.grad !== acc) {
          t.grad.dispose();
          if (g !== seed) g.dispose();
        }
        t.grad = keep(acc);
        continue;
      }
      const needs = node.inputs.map((x) => x.requiresGrad);
      const inGrads = node.backward(g, needs);
      const stored = new Set<T>();
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
          grads.set(x, ops.add(prev, gi));
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

/** Clears `.grad` of the given tensors (disposing the gradient buffers). */
export function zeroGrad(params: Iterable<{ grad: { dispose(): void } | null }>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}
