// Node patterns the importer runs as one Graft layer: Sigmoid+Mul (SiLU), a Conv followed by its activation
// (Relu, Clip(0,6), Sigmoid, SiLU: fused into the conv epilogue) and MatMul followed by a constant bias Add (Dense).

import { NodeAttributes } from '../attributes.js';
import type { OnnxModel, OnnxNode, OnnxTensor } from '../model.js';
import type { FoldedGraph } from '../fold.js';
import type { ConvActivation } from '../../../ops/conv-geometry.js';

/** What the pattern pass decided. */
export interface FusionPlan {
  /** Nodes whose work another node's layer does (never imported on their own). */
  skip: Set<OnnxNode>;
  /** Mul nodes that compute x * sigmoid(x): the name of x. */
  silu: Map<OnnxNode, string>;
  /** Conv nodes with a fused activation, and the ONNX value the fused layer produces. */
  convActivation: Map<OnnxNode, { activation: Exclude<ConvActivation, 'linear'>; output: string }>;
  /** MatMul nodes with a fused bias Add, and the Add's output. */
  denseBias: Map<OnnxNode, { bias: OnnxTensor; output: string }>;
}

/** Clip's [min, max] (attributes before opset 11, optional constant inputs after); null when not constant. */
export function clipRange(node: OnnxNode, file: string, opset: number, constOf: (name: string) => OnnxTensor | undefined): [number, number] | null {
  if (opset < 11) {
    const a = new NodeAttributes(file, node);
    return [a.float('min', -Infinity), a.float('max', Infinity)];
  }
  const bound = (i: number, fallback: number): number | null => {
    const name = node.inputs[i];
    if (!name) return fallback;
    const t = constOf(name);
    return t && t.values.length === 1 ? Number(t.values[0]) : null;
  };
  const lo = bound(1, -Infinity);
  const hi = bound(2, Infinity);
  return lo === null || hi === null ? null : [lo, hi];
}

/** Finds the fusable patterns of a folded graph. */
export function findPatterns(model: OnnxModel, folded: FoldedGraph): FusionPlan {
  const { nodes, initializers } = folded.graph;
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of nodes) for (const i of new Set(n.inputs)) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set(model.graph.outputs.map((o) => o.name));
  const usersOf = (name: string): OnnxNode[] => (outputs.has(name) ? [] : consumers.get(name) ?? []);
  const constOf = (name: string) => initializers.get(name);
  const plan: FusionPlan = { skip: new Set(), silu: new Map(), convActivation: new Map(), denseBias: new Map() };
  const plain = (n: OnnxNode) => !n.domain;

  for (const s of nodes) {
    if (!plain(s) || s.opType !== 'Sigmoid') continue;
    const x = s.inputs[0]!;
    const users = usersOf(s.outputs[0]!);
    const m = users[0];
    if (users.length !== 1 || m!.opType !== 'Mul' || !plain(m!) || outputs.has(s.outputs[0]!)) continue;
    const ins = m!.inputs;
    if (ins.length === 2 && ins.includes(x) && ins.includes(s.outputs[0]!) && x !== s.outputs[0]) {
      plan.silu.set(m!, x);
      plan.skip.add(s);
    }
  }

  for (const c of nodes) {
    if (!plain(c)) continue;
    if (c.opType === 'Conv') fuseConv(c);
    else if (c.opType === 'MatMul') fuseBias(c);
  }
  return plan;

  function fuseConv(c: OnnxNode): void {
    const y = c.outputs[0]!;
    const users = usersOf(y);
    if (users.length === 1) {
      const n = users[0]!;
      let activation: Exclude<ConvActivation, 'linear'> | null = null;
      if (!plain(n)) return;
      if (n.opType === 'Relu') activation = 'relu';
      else if (n.opType === 'Sigmoid' && !plan.skip.has(n)) activation = 'sigmoid';
      else if (n.opType === 'Clip') {
        const r = clipRange(n, model.file, model.opset, constOf);
        if (r && r[0] === 0 && r[1] === 6) activation = 'relu6';
        else if (r && r[0] === 0 && r[1] === Infinity) activation = 'relu';
      }
      if (!activation) return;
      plan.skip.add(n);
      plan.convActivation.set(c, { activation, output: n.outputs[0]! });
      return;
    }
    if (users.length === 2) {
      const m = users.find((n) => plan.silu.get(n) === y);
      const s = users.find((n) => n.opType === 'Sigmoid' && plan.skip.has(n));
      if (!m || !s) return;
      plan.silu.delete(m);
      plan.skip.add(m);
      plan.convActivation.set(c, { activation: 'silu', output: m.outputs[0]! });
    }
  }

  function fuseBias(m: OnnxNode): void {
    const b = constOf(m.inputs[1] ?? '');
    if (!b || b.dims.length !== 2 || initializers.has(m.inputs[0] ?? '')) return;
    const users = usersOf(m.outputs[0]!);
    const add = users[0];
    if (users.length !== 1 || add!.opType !== 'Add' || !plain(add!)) return;
    const other = add!.inputs.find((i) => i !== m.outputs[0]);
    const bias = other ? constOf(other) : undefined;
    const n = b.dims[1]!;
    if (!bias || bias.values.length !== n || bias.dims.length > 2 || (bias.dims.length === 2 && bias.dims[0] !== 1)) return;
    plan.skip.add(add!);
    plan.denseBias.set(m, { bias, output: add!.outputs[0]! });
  }
}
