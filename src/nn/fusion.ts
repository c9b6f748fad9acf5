// Inference fusion in a functional model's execution plan: (zero padding →) conv (+ batch norm folded into its
// weights) (+ activation in its epilogue) (+ a residual add, for 1x1 convs), squeeze-excite (gate in one kernel,
// excite multiply in the next 1x1 conv's prologue), and Rescaling → Normalization as one per-channel affine.
// Patterns are matched once per graph on layer types and connectivity; a group runs only when no gradient is
// recorded through it and its batch norm is in inference mode; otherwise a conv → BN (→ activation) tail runs the conv,
// then BN and its activation as one pass each way (moving or batch statistics), and other groups run node by node.

import { scaleShift } from '../ops/batchnorm.js';
import { conv2d } from '../ops/conv2d.js';
import { depthwiseConv2d } from '../ops/depthwise-conv2d.js';
import type { ConvActivation } from '../ops/conv-geometry.js';
import { excitedPointwise, seGate, seGateUnsupported } from '../ops/squeeze-excite.js';
import { isGradEnabled } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { epilogueOf, FoldCache, type FoldedConv } from './fusion-fold.js';
import type { CallContext, Layer, Node, SymbolicTensor } from './layer.js';
import { Activation, Dropout, Rescaling, Reshape } from './layers/core.js';
import { Conv2D, DepthwiseConv2D } from './layers/conv.js';
import { Add, Multiply } from './layers/merge.js';
import { BatchNormalization, Normalization } from './layers/normalization.js';
import { GlobalAveragePooling2D, ZeroPadding2D } from './layers/pooling.js';
import type { Variable } from './variable.js';

let enabled = true;

/** Turns inference fusion on or off for every model (default on); off runs each layer as written (tests, debugging). */
export function setFusion(on: boolean): void {
  enabled = on;
}

/** Whether inference fusion is on. */
export function fusionEnabled(): boolean {
  return enabled;
}

/** One fused run of graph nodes; it executes at its last node, whose output is the group's. */
export interface FusedGroup {
  /** The nodes it replaces, in execution order. */
  readonly nodes: readonly Node[];
  /** Runs the group on the current values, or returns null when it cannot fuse now (the caller runs the nodes). */
  run(value: (s: SymbolicTensor) => Tensor, ctxOf: (n: Node) => CallContext): Tensor | null;
  /** Frees cached folded weights. */
  dispose(): void;
}

/** The graph facts the matcher needs: who reads each symbolic tensor, and which are model outputs. */
interface GraphIndex {
  readers: Map<SymbolicTensor, Node[]>;
  outputs: Set<SymbolicTensor>;
  claimed: Set<Node>;
}

/** The only reader of `s` when exactly one node reads it once and it is not a model output; else null. */
function soleReader(g: GraphIndex, s: SymbolicTensor): Node | null {
  const r = g.readers.get(s) ?? [];
  if (r.length !== 1 || g.outputs.has(s) || g.claimed.has(r[0]!)) return null;
  return r[0]!.inputs.filter((i) => i === s).length === 1 ? r[0]! : null;
}

const single = (n: Node) => n.inputs.length === 1 && n.outputs.length === 1;
const isConv = (l: Layer): l is Conv2D | DepthwiseConv2D => l instanceof Conv2D || l instanceof DepthwiseConv2D;

/** A 1x1, stride-1 Conv2D with no padding (a GEMM per pixel), whose activation an epilogue can apply. */
function isPointwiseConv(l: Layer): l is Conv2D {
  if (!(l instanceof Conv2D) || epilogueOf(l.activation) === null) return false;
  const [kh, kw] = l.kernelSize;
  const pad = l.padding;
  const unpadded = pad === 'same' || pad === 'valid' || pad.every((v) => v === 0);
  return kh === 1 && kw === 1 && l.strides[0] === 1 && l.strides[1] === 1 && unpadded;
}

/** A conv's tail: the conv itself, or conv (linear) → BN in last-axis form, optionally → Activation. */
interface ConvTail {
  nodes: Node[];
  bn: BatchNormalization | null;
  activation: ConvActivation;
}

type Pads = readonly [number, number, number, number];

/** A ZeroPadding2D feeding only `convNode`, and the conv's padding with it added; null when the conv pads 'same'. */
function absorbedPadding(g: GraphIndex, convNode: Node): { node: Node; padding: Pads } | null {
  const zp = convNode.inputs[0]!.node;
  const conv = convNode.layer as Conv2D | DepthwiseConv2D;
  if (!(zp.layer instanceof ZeroPadding2D) || !single(zp) || g.claimed.has(zp) || soleReader(g, zp.outputs[0]!) !== convNode) return null;
  if (conv.padding === 'same') return null;
  const own = conv.padding === 'valid' ? [0, 0, 0, 0] : conv.padding;
  const [[t, b], [l, r]] = zp.layer.padding;
  return { node: zp, padding: [own[0]! + t, own[1]! + b, own[2]! + l, own[3]! + r] };
}

function convTail(g: GraphIndex, convNode: Node): ConvTail {
  const conv = convNode.layer as Conv2D | DepthwiseConv2D;
  const own = epilogueOf(conv.activation);
  const none: ConvTail = { nodes: [convNode], bn: null, activation: own ?? 'linear' };
  if (own !== 'linear') return none;
  const bnNode = soleReader(g, convNode.outputs[0]!);
  if (!bnNode || !(bnNode.layer instanceof BatchNormalization) || !single(bnNode)) return none;
  const tail: ConvTail = { nodes: [convNode, bnNode], bn: bnNode.layer, activation: 'linear' };
  const actNode = soleReader(g, bnNode.outputs[0]!);
  if (actNode && actNode.layer instanceof Activation && single(actNode)) {
    const a = epilogueOf(actNode.layer.activation);
    if (a !== null) return { ...tail, nodes: [...tail.nodes, actNode], activation: a };
  }
  return tail;
}

/** A skip connection after a 1x1 conv: (Dropout →) Add(conv output, other), folded into the matmul's epilogue. */
interface Residual {
  nodes: Node[];
  other: SymbolicTensor;
  dropout: Dropout | null;
}

const sameShape = (a: readonly (number | null)[], b: readonly (number | null)[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function residualAfter(g: GraphIndex, last: Node): Residual | null {
  let r = soleReader(g, last.outputs[0]!);
  const nodes: Node[] = [];
  let dropout: Dropout | null = null;
  if (r && r.layer instanceof Dropout && single(r)) {
    dropout = r.layer;
    nodes.push(r);
    r = soleReader(g, r.outputs[0]!);
  }
  if (!r || !(r.layer instanceof Add) || r.inputs.length !== 2 || r.outputs.length !== 1) return null;
  const mine = (nodes[0] ?? last).outputs[0]!;
  const other = r.inputs[0] === mine ? r.inputs[1]! : r.inputs[0]!;
  if (other === mine || !sameShape(other.shape, mine.shape) || !sameShape(r.outputs[0]!.shape, mine.shape)) return null;
  return { nodes: [...nodes, r], other, dropout };
}

/** The residual tensor to add now, undefined without one; null when it cannot fuse now (dropout active, recording). */
function residualValue(res: Residual | null, value: (s: SymbolicTensor) => Tensor, ctxOf: (n: Node) => CallContext): Tensor | undefined | null {
  if (!res) return undefined;
  if (res.dropout && res.dropout.rate > 0 && ctxOf(res.nodes[0]!).training) return null;
  const t = value(res.other);
  return recording([t]) ? null : t;
}

/** Whether any of these tensors would have a gradient recorded through it. */
function recording(ts: readonly (Tensor | null | undefined)[]): boolean {
  return isGradEnabled() && ts.some((t) => t?.requiresGrad);
}

const valuesOf = (vs: readonly (Variable | null)[]) => vs.map((v) => v?.value ?? null);

/** Whether batch norm runs with its moving statistics in this context (as BatchNormalization.call decides). */
function bnInference(bn: BatchNormalization, ctx: CallContext): boolean {
  return !(ctx.training && bn.trainable && !ctx.frozen);
}

/** The weights a conv tail runs with: folded when it has a BN (cached), its own otherwise; null when it cannot fuse now. */
function tailWeights(t: ConvTail, conv: Conv2D | DepthwiseConv2D, cache: FoldCache | null, ctxOf: (n: Node) => CallContext): FoldedConv | null {
  const bn = t.bn;
  if (bn && !bnInference(bn, ctxOf(t.nodes[1]!))) return null;
  if (recording(valuesOf([conv.kernel, conv.bias, bn?.gamma ?? null, bn?.beta ?? null]))) return null;
  return cache ? cache.get() : { filter: conv.kernel!.value, bias: conv.bias?.value ?? null, scale: null };
}

/** The fused options of a folded 1x1 conv's matmul: its bias, epilogue scale, activation and residual. */
const pointwiseOptions = (w: FoldedConv, activation: ConvActivation, residual?: Tensor) => ({
  activation, ...(w.bias ? { bias: w.bias } : {}), ...(w.scale ? { outScale: w.scale } : {}), ...(residual ? { residual } : {}),
});

/**
 * (zero padding →) conv (+ BN) (+ activation) as one conv with the padding in its geometry, folded weights and the
 * activation in its epilogue.
 */
function convGroup(t: ConvTail, pad: { node: Node; padding: Pads } | null, res: Residual | null): FusedGroup {
  const conv = t.nodes[0]!.layer as Conv2D | DepthwiseConv2D;
  // NOTE: a 1x1 conv runs as a matmul that scales in its epilogue: no folded copy of its filter.
  const pointwise = !pad && isPointwiseConv(conv);
  const cache = t.bn ? new FoldCache(conv, t.bn, pointwise) : null;
  const first = pad ? pad.node : t.nodes[0]!;
  return {
    nodes: [...(pad ? [pad.node] : []), ...t.nodes, ...(res?.nodes ?? [])],
    run(value, ctxOf) {
      const x = value(first.inputs[0]!);
      const w = recording([x]) ? null : tailWeights(t, conv, cache, ctxOf);
      if (!w) return recordedTail(t, conv, pad, res, x, ctxOf);
      const residual = residualValue(res, value, ctxOf);
      if (residual === null) return null;
      if (pointwise) return excitedPointwise(x, null, w.filter, pointwiseOptions(w, t.activation, residual));
      const op = conv instanceof DepthwiseConv2D ? depthwiseConv2d : conv2d;
      return op(x, w.filter, {
        strides: conv.strides, padding: pad ? pad.padding : conv.padding, dilations: conv.dilationRate, activation: t.activation, ...(w.bias ? { bias: w.bias } : {}),
      });
    },
    dispose: () => cache?.dispose(),
  };
}

/**
 * While a gradient is recorded, or while BN uses batch statistics: the conv (with the absorbed padding), then BN and
 * its activation as one pass each way (BatchNormalization.normalize: the batch-norm kernels apply the activation and
 * their backward recomputes the pre-activation, which is never stored), on moving statistics (Keras fine-tuning with
 * a base applied `training: false`; the backward reaches the conv, gamma and beta) or batch statistics. Null when
 * that does not apply (the nodes run one by one).
 */
function recordedTail(t: ConvTail, conv: Conv2D | DepthwiseConv2D, pad: { padding: Pads } | null, res: Residual | null, x: Tensor, ctxOf: (n: Node) => CallContext): Tensor | null {
  const bn = t.bn;
  // NOTE: a mixed-precision layer keeps its own call (its precision scope); a residual needs the Add node's dropout.
  if (!bn || res || conv.computeDtype !== 'float32' || bn.computeDtype !== 'float32') return null;
  const op = conv instanceof DepthwiseConv2D ? depthwiseConv2d : conv2d;
  const y = op(x, conv.kernel!.value, {
    strides: conv.strides, padding: pad ? pad.padding : conv.padding, dilations: conv.dilationRate, ...(conv.bias ? { bias: conv.bias.value } : {}),
  });
  return bn.normalize(y, ctxOf(t.nodes[1]!), t.activation);
}

/**
 * Squeeze-excite feeding a 1x1 conv: GlobalAveragePooling2D(x) (→ Reshape to [1, 1, C]) → Conv2D 1x1 (reduce) →
 * Conv2D 1x1 (expand) → Multiply(x, gate) → Conv2D 1x1 (+ BN (+ activation)).
 */
function matchSqueezeExcite(g: GraphIndex, gap: Node): FusedGroup | null {
  if (!(gap.layer instanceof GlobalAveragePooling2D) || !single(gap)) return null;
  const x = gap.inputs[0]!;
  if (x.shape.length !== 4) return null;
  const nodes: Node[] = [gap];
  let cur = soleReader(g, gap.outputs[0]!);
  if (!gap.layer.keepDims) {
    const s = cur?.outputs[0]?.shape;
    if (!cur || !(cur.layer instanceof Reshape) || !single(cur) || s?.length !== 4 || s[1] !== 1 || s[2] !== 1) return null;
    nodes.push(cur);
    cur = soleReader(g, cur.outputs[0]!);
  }
  const reduce = cur;
  if (!reduce || !isPointwiseConv(reduce.layer) || !single(reduce)) return null;
  const expand = soleReader(g, reduce.outputs[0]!);
  if (!expand || !isPointwiseConv(expand.layer) || !single(expand)) return null;
  const excite = soleReader(g, expand.outputs[0]!);
  if (!excite || !(excite.layer instanceof Multiply) || excite.inputs.length !== 2 || !excite.inputs.includes(x)) return null;
  if (x.shape[3] !== expand.outputs[0]!.shape[3]) return null;
  const project = soleReader(g, excite.outputs[0]!);
  if (!project || !isPointwiseConv(project.layer) || !single(project)) return null;
  const tail = convTail(g, project);
  const res = residualAfter(g, tail.nodes[tail.nodes.length - 1]!);
  const all = [...nodes, reduce, expand, excite, ...tail.nodes, ...(res?.nodes ?? [])];
  const rl = reduce.layer as Conv2D;
  const el = expand.layer as Conv2D;
  const pl = project.layer as Conv2D;
  const cache = tail.bn ? new FoldCache(pl, tail.bn, true) : null;
  return {
    nodes: all,
    run(value, ctxOf) {
      const xv = value(x);
      const se = [rl.kernel, rl.bias, el.kernel, el.bias];
      if (recording([xv, ...valuesOf(se)])) return null;
      // NOTE: channels beyond the adapter's workgroup memory run unfused.
      if (seGateUnsupported(xv.device, xv.shape[3]!, rl.kernel!.shape[3]!) !== null) return null;
      const w = tailWeights(tail, pl, cache, ctxOf);
      if (!w) return null;
      const residual = residualValue(res, value, ctxOf);
      if (residual === null) return null;
      const gate = seGate(xv, rl.kernel!.value, el.kernel!.value, {
        reduceActivation: epilogueOf(rl.activation)!, expandActivation: epilogueOf(el.activation)!,
        ...(rl.bias ? { reduceBias: rl.bias.value } : {}), ...(el.bias ? { expandBias: el.bias.value } : {}),
      });
      const y = excitedPointwise(xv, gate, w.filter, pointwiseOptions(w, tail.activation, residual));
      gate.dispose();
      return y;
    },
    dispose: () => cache?.dispose(),
  };
}

/** Rescaling (a scalar affine) feeding only a Normalization: one scaleShift with both folded in (the B0 input). */
function matchInputNormalization(g: GraphIndex, rescale: Node): FusedGroup | null {
  if (!(rescale.layer instanceof Rescaling) || !single(rescale)) return null;
  const norm = soleReader(g, rescale.outputs[0]!);
  if (!norm || !(norm.layer instanceof Normalization) || !single(norm)) return null;
  const rs = rescale.layer;
  const nl = norm.layer;
  return {
    nodes: [rescale, norm],
    run(value) {
      const x = value(rescale.inputs[0]!);
      if (!nl.built || x.shape[x.rank - 1] !== nl.mean!.shape[0]) return null;
      const { scale, shift } = nl.affineAfter(rs.scale, rs.offset);
      return scaleShift(x, scale, shift);
    },
    dispose: () => undefined,
  };
}

/**
 * Finds the fusable groups of a graph (nodes in execution order, model outputs never fused away): squeeze-excite
 * blocks first, then conv (+ BN) (+ activation) chains. Returns each member node's group.
 */
export function planFusion(nodes: readonly Node[], outputs: readonly SymbolicTensor[]): Map<Node, FusedGroup> {
  const g: GraphIndex = { readers: new Map(), outputs: new Set(outputs), claimed: new Set() };
  for (const n of nodes) for (const s of n.inputs) g.readers.set(s, [...(g.readers.get(s) ?? []), n]);
  const plan = new Map<Node, FusedGroup>();
  const claim = (group: FusedGroup) => {
    for (const n of group.nodes) (g.claimed.add(n), plan.set(n, group));
  };
  for (const n of nodes) {
    const group = g.claimed.has(n) ? null : (matchSqueezeExcite(g, n) ?? matchInputNormalization(g, n));
    if (group) claim(group);
  }
  for (const n of nodes) {
    if (g.claimed.has(n) || !isConv(n.layer) || !single(n)) continue;
    const t = convTail(g, n);
    const pad = absorbedPadding(g, n);
    const res = !pad && isPointwiseConv(n.layer) ? residualAfter(g, t.nodes[t.nodes.length - 1]!) : null;
    // NOTE: a lone conv already fuses its own activation; a group pays only when it absorbs a pad, a BN, an activation or an add.
    if (t.nodes.length > 1 || pad || res) claim(convGroup(t, pad, res));
  }
  return plan;
}
