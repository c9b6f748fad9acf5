// Shape and layout ops: Transpose (free: only the layout record changes), Flatten, Reshape, Squeeze, Unsqueeze
// (free views), Pad, Concat, and the pass-through ops Identity, Dropout, Cast, plus the leftovers of constant
// folding (Constant, Shape, Gather) that folding could not evaluate.

import { Dropout as DropoutLayer, Flatten as FlattenLayer, Reshape as ReshapeLayer } from '../../../nn/layers/core.js';
import { ZeroPadding2D } from '../../../nn/layers/pooling.js';
import { Concatenate } from '../layers/concatenate.js';
import { ConstantPad } from '../layers/shape-ops.js';
import type { OnnxNode } from '../model.js';
import type { ImportContext, TensorValue } from './context.js';
import { afterTranspose, identity } from './perm.js';

export function Transpose(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const rank = x.perm.length;
  const p = ctx.attrs(node).ints('perm', identity(rank).reverse());
  if (p.length !== rank || new Set(p).size !== rank || p.some((v) => v < 0 || v >= rank)) {
    return ctx.fail(node, `perm [${p.join(',')}] is not a permutation of ${rank} axes`);
  }
  ctx.setOutput(node, { kind: 'tensor', sym: x.sym, perm: afterTranspose(x.perm, p) });
}

export function Identity(ctx: ImportContext, node: OnnxNode): void {
  ctx.setOutput(node, ctx.input(node, 0));
}

export function Cast(ctx: ImportContext, node: OnnxNode): void {
  const to = ctx.attrs(node).int('to');
  // NOTE: 1 = FLOAT; a float-to-float cast of a computed tensor changes nothing in Graft (float32 throughout).
  if (to !== 1 && to !== 10 && to !== 11) return ctx.fail(node, `Cast of a computed tensor to type code ${to} is not supported (only float)`);
  Identity(ctx, node);
}

export function Dropout(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const ratio = ctx.opset < 12 ? ctx.attrs(node).float('ratio', 0.5) : Number(ctx.constInput(node, 1, 'ratio')?.values[0] ?? 0.5);
  if (node.outputs[1]) return ctx.fail(node, 'the mask output is not supported');
  const sym = ctx.apply(node, new DropoutLayer({ name: ctx.layerName(node), rate: ratio }), x);
  ctx.setOutput(node, { kind: 'tensor', sym, perm: x.perm });
}

/** A Graft Reshape to logical `target` (batch first, kept free) from a value in the identity layout. */
function reshapeTo(ctx: ImportContext, node: OnnxNode, x: TensorValue, target: number[]): void {
  const y = ctx.toLayout(node, x, identity(x.perm.length));
  const sym = ctx.apply(node, new ReshapeLayer({ name: ctx.layerName(node), targetShape: target }), y);
  ctx.setOutput(node, { kind: 'tensor', sym, perm: identity(target.length + 1) });
}

function knownRest(ctx: ImportContext, node: OnnxNode, x: TensorValue): number[] {
  const rest = ctx.logical(x).slice(1);
  if (rest.some((d) => d === null)) return ctx.fail(node, 'needs known non-batch dimensions');
  return rest as number[];
}

export function Flatten(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const rank = x.perm.length;
  const raw = ctx.attrs(node).int('axis', 1);
  const axis = raw < 0 ? raw + rank : raw;
  const rest = knownRest(ctx, node, x);
  if (axis !== 1 && !(axis > 1 && rest.slice(0, axis - 1).every((d) => d === 1))) {
    return ctx.fail(node, `axis ${raw} would fold the batch into another dimension; only axis 1 is supported`);
  }
  if (axis === 1 && rank === 4) {
    const y = ctx.toLayout(node, x, identity(rank));
    const sym = ctx.apply(node, new FlattenLayer({ name: ctx.layerName(node) }), y);
    return ctx.setOutput(node, { kind: 'tensor', sym, perm: identity(2) });
  }
  reshapeTo(ctx, node, x, [rest.slice(Math.max(axis - 1, 0)).reduce((p, d) => p * d, 1)]);
}

export function Reshape(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const name = node.inputs[1] ?? '';
  const sym = ctx.folded.symbolic.get(name);
  const c = sym ? null : ctx.constInput(node, 1, 'shape');
  const raw: (number | string)[] = sym ? sym.values : c ? Array.from(c.values as ArrayLike<number>, Number) : ctx.fail(node, 'shape input is missing');
  const allowZero = ctx.attrs(node).int('allowzero', 0) === 1;
  const logical = ctx.logical(x);
  const fileBatch = ctx.model.graph.inputs[0]?.shape?.[0];
  const first = raw[0];
  const keepsBatch = typeof first === 'string' || (first === 0 && !allowZero) || (typeof first === 'number' && first === fileBatch && first !== -1);
  const rest = raw.slice(1).map((v, i) => {
    if (v === 0 && !allowZero) {
      const d = logical[i + 1];
      return typeof d === 'number' ? d : ctx.fail(node, `shape entry ${i + 1} copies an unknown dimension`);
    }
    return typeof v === 'number' ? v : ctx.fail(node, `symbolic shape entry '${v}' is only supported for the batch`);
  });
  const total = knownRest(ctx, node, x).reduce((p, d) => p * d, 1);
  if (keepsBatch) return reshapeTo(ctx, node, x, rest);
  if (first === -1 && rest.every((d) => d > 0) && rest.reduce((p, d) => p * d, 1) === total) return reshapeTo(ctx, node, x, rest);
  ctx.fail(node, `target shape [${raw.join(',')}] does not keep the batch as its first dimension`);
}

export function Squeeze(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const rank = x.perm.length;
  const logical = ctx.logical(x);
  const given = ctx.intsArg(node, 1, 'axes', 13);
  const axes = (given ?? logical.flatMap((d, i) => (d === 1 ? [i] : []))).map((v) => (v < 0 ? v + rank : v));
  if (axes.some((a) => a <= 0 || a >= rank || logical[a] !== 1)) {
    return ctx.fail(node, `axes [${axes.join(',')}] must name non-batch dimensions of size 1 of shape [${logical.map((d) => d ?? 'N').join(',')}]`);
  }
  const keptPhysical = x.perm.filter((p) => !axes.includes(p));
  const perm = keptPhysical.map((p) => p - axes.filter((q) => q < p).length);
  if (perm[0] !== 0) return ctx.fail(node, 'internal: the batch axis is not first');
  const target = keptPhysical.slice(1).map((p) => logical[p] as number);
  const sym = ctx.apply(node, new ReshapeLayer({ name: ctx.layerName(node), targetShape: target }), x);
  ctx.setOutput(node, { kind: 'tensor', sym, perm });
}

export function Unsqueeze(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const given = ctx.intsArg(node, 1, 'axes', 13);
  if (!given) return ctx.fail(node, 'axes are missing');
  const rank = x.perm.length + given.length;
  const axes = given.map((v) => (v < 0 ? v + rank : v));
  if (axes.some((a) => a <= 0 || a >= rank) || new Set(axes).size !== axes.length) return ctx.fail(node, `axes [${given.join(',')}] must be distinct non-batch axes of the rank-${rank} output`);
  const oldToNew: number[] = [];
  for (let i = 0; i < rank; i++) if (!axes.includes(i)) oldToNew.push(i);
  // NOTE: the new size-1 axes go after the value's own axes physically; moving size-1 axes later is free.
  const perm = [...x.perm.map((p) => oldToNew[p]!), ...axes.slice().sort((p, q) => p - q)];
  const target = [...x.sym.shape.slice(1), ...axes.map(() => 1)];
  if (target.some((d) => d === null)) return ctx.fail(node, 'needs known non-batch dimensions');
  const sym = ctx.apply(node, new ReshapeLayer({ name: ctx.layerName(node), targetShape: target as number[] }), x);
  ctx.setOutput(node, { kind: 'tensor', sym, perm });
}

export function Concat(ctx: ImportContext, node: OnnxNode): void {
  const inputs = node.inputs.map((_, i) => ctx.tensorInput(node, i));
  const rank = inputs[0]!.perm.length;
  const raw = ctx.attrs(node).int('axis');
  const axis = raw < 0 ? raw + rank : raw;
  if (axis <= 0 || axis >= rank) return ctx.fail(node, `axis ${raw} must be a non-batch axis of rank ${rank}`);
  if (inputs.some((v) => v.perm.length !== rank)) return ctx.fail(node, 'inputs differ in rank');
  const perm = inputs[0]!.perm;
  const aligned = inputs.map((v) => ctx.toLayout(node, v, perm));
  const sym = ctx.apply(node, new Concatenate({ name: ctx.layerName(node), axis: perm.indexOf(axis) }), aligned);
  ctx.setOutput(node, { kind: 'tensor', sym, perm });
}

export function Pad(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const rank = x.perm.length;
  const a = ctx.attrs(node);
  const mode = a.string('mode', 'constant');
  if (mode !== 'constant') return ctx.fail(node, `mode '${mode}' is not supported (only 'constant')`);
  const pads = ctx.intsArg(node, 1, 'pads', 11);
  const value = ctx.opset < 11 ? a.float('value', 0) : Number(ctx.constInput(node, 2, 'constant_value')?.values[0] ?? 0);
  const axesGiven = ctx.opset >= 18 ? ctx.constInput(node, 3, 'axes') : undefined;
  const axes = axesGiven ? Array.from(axesGiven.values as ArrayLike<number>, (v) => (Number(v) < 0 ? Number(v) + rank : Number(v))) : identity(rank);
  if (!pads || pads.length !== 2 * axes.length) return ctx.fail(node, `pads must hold 2 x ${axes.length} values, got ${pads?.length ?? 'none'}`);
  if (pads.some((p) => p < 0)) return ctx.fail(node, `negative pads [${pads.join(',')}] (cropping) are not supported`);
  const logical: [number, number][] = identity(rank).map(() => [0, 0]);
  axes.forEach((ax, i) => (logical[ax] = [pads[i]!, pads[i + axes.length]!]));
  if (logical[0]![0] || logical[0]![1]) return ctx.fail(node, 'padding the batch axis is not supported');
  const physical = x.perm.map((p) => logical[p]!);
  const name = ctx.layerName(node);
  const onlySpatial = rank === 4 && value === 0 && physical[3]![0] === 0 && physical[3]![1] === 0;
  const layer = onlySpatial
    ? new ZeroPadding2D({ name, padding: [physical[1]!, physical[2]!] })
    : new ConstantPad({ name, paddings: physical, value });
  ctx.setOutput(node, { kind: 'tensor', sym: ctx.apply(node, layer, x), perm: x.perm });
}

/** Constant, Shape and Gather nodes left after folding: their inputs were not constant. */
export function unfoldable(ctx: ImportContext, node: OnnxNode): void {
  ctx.fail(node, `${node.opType} of a computed value could not be folded to a constant (only shape arithmetic on known shapes is supported)`);
}
