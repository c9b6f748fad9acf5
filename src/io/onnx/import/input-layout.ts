// Which layout each rank-4 graph input gets in Graft: NCHW files (Conv on the input) are held NHWC
// (perm [0,2,3,1]); NHWC files (tf2onnx: elementwise preprocessing, then Transpose to NCHW) stay as they are.

import type { OnnxModel, OnnxNode } from '../model.js';
import { NodeAttributes } from '../attributes.js';
import { channelsLast, identity } from './perm.js';

/** Ops that keep axes in place, looked through when searching for the first layout-defining consumer. */
const ELEMENTWISE = new Set(['Mul', 'Add', 'Sub', 'Div', 'Identity', 'Cast', 'Relu', 'Clip', 'Sigmoid', 'Tanh', 'Dropout']);

/** The layout (perm) chosen for a graph input of `rank`. */
export function inputLayout(model: OnnxModel, name: string, rank: number): number[] {
  if (rank !== 4) return identity(rank);
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of model.graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const seen = new Set<string>([name]);
  const queue = [name];
  while (queue.length) {
    const v = queue.shift()!;
    for (const n of consumers.get(v) ?? []) {
      if (n.opType === 'Transpose' && !n.domain) {
        const perm = new NodeAttributes(model.file, n).ints('perm', [3, 2, 1, 0]);
        if (perm.join(',') === '0,3,1,2') return identity(4);
        continue;
      }
      if (!ELEMENTWISE.has(n.opType) || n.domain) continue;
      for (const o of n.outputs) if (o && !seen.has(o)) (seen.add(o), queue.push(o));
    }
  }
  return channelsLast(4);
}
