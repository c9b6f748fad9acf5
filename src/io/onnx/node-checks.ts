// Per-node consistency checks of weights against attributes and input shapes (Conv groups, BN statistics, Gemm).

import { NodeAttributes } from './attributes.js';
import { OnnxError } from './errors.js';
import type { Dim, OnnxModel, OnnxNode } from './model.js';

/** Checks Conv, BatchNormalization and Gemm nodes; `shapes` are the known value shapes (see foldConstants). */
export function checkNodes(model: OnnxModel, shapes: Map<string, Dim[]>): void {
  for (const node of model.graph.nodes) {
    if (node.domain) continue;
    const shape = (i: number): Dim[] | null => (node.inputs[i] ? shapes.get(node.inputs[i]!) ?? null : null);
    const fail = (problem: string): never => {
      throw new OnnxError({ file: model.file, node }, problem);
    };
    if (node.opType === 'Conv') checkConv(node, shape, fail, new NodeAttributes(model.file, node));
    else if (node.opType === 'BatchNormalization') checkBatchNorm(shape, fail);
    else if (node.opType === 'Gemm') checkGemm(shape, fail, new NodeAttributes(model.file, node));
  }
}

type ShapeOf = (i: number) => Dim[] | null;
type Fail = (problem: string) => never;
const fmt = (s: Dim[]): string => `[${s.map((d) => d ?? '?').join(',')}]`;

function checkConv(node: OnnxNode, shape: ShapeOf, fail: Fail, a: NodeAttributes): void {
  const group = a.int('group', 1);
  if (group < 1) fail(`group ${group} must be at least 1`);
  const w = shape(1);
  if (!w) return;
  if (w.length < 3) fail(`weight ${fmt(w)} must have rank 3 or more ([M, C/group, kernel...])`);
  const [m, cPerGroup] = w;
  if (typeof m === 'number' && m % group !== 0) fail(`group ${group} does not divide the ${m} output channels of weight ${fmt(w)}`);
  if (a.has('kernel_shape')) {
    const k = a.ints('kernel_shape');
    if (k.length !== w.length - 2 || k.some((v, i) => w[i + 2] !== null && v !== w[i + 2])) {
      fail(`kernel_shape [${k.join(',')}] does not match weight ${fmt(w)}`);
    }
  }
  const b = shape(2);
  if (b && (b.length !== 1 || (typeof m === 'number' && typeof b[0] === 'number' && b[0] !== m))) {
    fail(`bias ${fmt(b)} should be [${m}] for weight ${fmt(w)}`);
  }
  const x = shape(0);
  const c = x?.[1];
  if (!x || typeof c !== 'number') return;
  if (x.length !== w.length) fail(`input ${fmt(x)} and weight ${fmt(w)} differ in rank`);
  if (c % group !== 0) fail(`group ${group} does not divide the ${c} channels of input ${fmt(x)}`);
  if (typeof cPerGroup === 'number' && c / group !== cPerGroup) {
    fail(`input ${fmt(x)} has ${c} channels, weight ${fmt(w)} with group ${group} expects ${cPerGroup * group}`);
  }
}

function checkBatchNorm(shape: ShapeOf, fail: Fail): void {
  const c = shape(0)?.[1];
  const names = ['scale', 'B', 'mean', 'var'];
  for (let i = 1; i <= 4; i++) {
    const s = shape(i);
    if (!s) continue;
    if (s.length !== 1 || (typeof c === 'number' && typeof s[0] === 'number' && s[0] !== c)) {
      fail(`${names[i - 1]} ${fmt(s)} should be [${c ?? 'C'}] for input ${fmt(shape(0) ?? [])}`);
    }
  }
}

function checkGemm(shape: ShapeOf, fail: Fail, a: NodeAttributes): void {
  const x = shape(0);
  const w = shape(1);
  if (!x || !w) return;
  if (x.length !== 2 || w.length !== 2) fail(`A ${fmt(x)} and B ${fmt(w)} must both have rank 2`);
  const k1 = a.int('transA', 0) ? x[0] : x[1];
  const k2 = a.int('transB', 0) ? w[1] : w[0];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    fail(`inner dimensions differ: A ${fmt(x)} (transA ${a.int('transA', 0)}) and B ${fmt(w)} (transB ${a.int('transB', 0)})`);
  }
}
