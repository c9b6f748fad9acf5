// GlobalAveragePool, AveragePool, MaxPool and ReduceMean (spatial means become GlobalAveragePooling2D).

import { GlobalAveragePooling2D, ZeroPadding2D } from '../../../nn/layers/pooling.js';
import { Pool2D } from '../layers/pool2d.js';
import { ReduceMean as ReduceMeanLayer } from '../layers/shape-ops.js';
import type { OnnxNode } from '../model.js';
import type { ImportContext, TensorValue } from './context.js';
import { nodePadding, pair } from './ops-conv.js';
import { channelsLast } from './perm.js';

function spatialInput(ctx: ImportContext, node: OnnxNode): TensorValue {
  const x = ctx.tensorInput(node, 0);
  if (x.perm.length !== 4) return ctx.fail(node, `only 2-D pooling is supported; input has rank ${x.perm.length}`);
  return ctx.toLayout(node, x, channelsLast(4));
}

export function GlobalAveragePool(ctx: ImportContext, node: OnnxNode): void {
  const x = spatialInput(ctx, node);
  const sym = ctx.apply(node, new GlobalAveragePooling2D({ name: ctx.layerName(node), keepDims: true }), x);
  ctx.setOutput(node, { kind: 'tensor', sym, perm: x.perm });
}

function pool(ctx: ImportContext, node: OnnxNode, mode: 'max' | 'avg'): void {
  const x = spatialInput(ctx, node);
  const a = ctx.attrs(node);
  if (node.outputs[1]) return ctx.fail(node, 'the Indices output is not supported');
  const kernel = pair(ctx, node, 'kernel_shape', 0);
  const strides = pair(ctx, node, 'strides', 1);
  const dil = pair(ctx, node, 'dilations', 1);
  if (dil[0] !== 1 || dil[1] !== 1) return ctx.fail(node, `dilations [${dil.join(',')}] are not supported`);
  const [, h, w] = x.sym.shape;
  if (typeof h !== 'number' || typeof w !== 'number') return ctx.fail(node, 'needs a known input size');
  let padding = nodePadding(ctx, node, [h, w], kernel, strides, dil);
  const explicit = (): [number, number, number, number] => (Array.isArray(padding) ? [...padding] as [number, number, number, number] : [0, 0, 0, 0]);
  if (a.int('ceil_mode', 0) === 1 && padding !== 'same') {
    // NOTE: ceil mode adds windows that overhang the end; extra end padding that never wins (max) or counts
    // (average without count_include_pad) gives the same windows.
    const p = explicit();
    const extra = (n: number, k: number, s: number, before: number, after: number) => {
      const span = n + before + after - k;
      return Math.ceil(span / s) * s - span;
    };
    const eh = extra(h, kernel[0], strides[0], p[0], p[1]);
    const ew = extra(w, kernel[1], strides[1], p[2], p[3]);
    if (eh || ew) {
      if (mode === 'avg' && a.int('count_include_pad', 0) === 1) return ctx.fail(node, 'ceil_mode with count_include_pad is not supported');
      padding = [p[0], p[1] + eh, p[2], p[3] + ew];
    }
  }
  let input = x;
  if (mode === 'avg' && a.int('count_include_pad', 0) === 1 && padding !== 'valid') {
    // NOTE: padded zeros that count in the average: pad explicitly, then pool without padding.
    if (padding === 'same') return ctx.fail(node, 'SAME padding with count_include_pad is not supported');
    const [t, b, l, r] = padding as [number, number, number, number];
    const sym = ctx.apply(node, new ZeroPadding2D({ name: ctx.layerName(node, 'pad'), padding: [[t, b], [l, r]] }), x);
    input = { kind: 'tensor', sym, perm: x.perm };
    padding = 'valid';
  }
  const layer = new Pool2D({ name: ctx.layerName(node), mode, poolSize: kernel, strides, padding: padding as Pool2D['padding'] });
  ctx.setOutput(node, { kind: 'tensor', sym: ctx.apply(node, layer, input), perm: x.perm });
}

export function AveragePool(ctx: ImportContext, node: OnnxNode): void {
  pool(ctx, node, 'avg');
}

export function MaxPool(ctx: ImportContext, node: OnnxNode): void {
  if (ctx.attrs(node).int('storage_order', 0) !== 0) return ctx.fail(node, 'storage_order 1 is not supported');
  pool(ctx, node, 'max');
}

export function ReduceMean(ctx: ImportContext, node: OnnxNode): void {
  const x = ctx.tensorInput(node, 0);
  const rank = x.perm.length;
  const a = ctx.attrs(node);
  const keep = a.int('keepdims', 1) === 1;
  const given = ctx.intsArg(node, 1, 'axes', 18);
  if (!given?.length && a.int('noop_with_empty_axes', 0) === 1) return ctx.setOutput(node, x);
  const axes = (given?.length ? given : [...Array(rank).keys()]).map((v) => (v < 0 ? v + rank : v));
  if (axes.some((v) => v < 0 || v >= rank)) return ctx.fail(node, `axes [${given?.join(',')}] out of range for rank ${rank}`);
  if (axes.includes(0)) return ctx.fail(node, 'averaging over the batch axis is not supported');
  const physical = axes.map((v) => x.perm.indexOf(v)).sort();
  const remaining = x.perm.filter((p) => !axes.includes(p)).map((p) => p - axes.filter((q) => q < p).length);
  const outPerm = keep ? x.perm : remaining;
  if (rank === 4 && physical.join(',') === '1,2') {
    const sym = ctx.apply(node, new GlobalAveragePooling2D({ name: ctx.layerName(node), keepDims: keep }), x);
    return ctx.setOutput(node, { kind: 'tensor', sym, perm: outPerm });
  }
  const sym = ctx.apply(node, new ReduceMeanLayer({ name: ctx.layerName(node), axes: physical, keepDims: keep }), x);
  ctx.setOutput(node, { kind: 'tensor', sym, perm: outPerm });
}
