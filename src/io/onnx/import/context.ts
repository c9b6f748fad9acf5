// The importer's state: the Graft value (symbolic tensor + layout) or constant behind each ONNX value name,
// layer naming, typed access to node inputs, and layout moves (free reshapes where only size-1 axes move).

import { NodeAttributes } from '../attributes.js';
import { OnnxError } from '../errors.js';
import type { FoldedGraph } from '../fold.js';
import type { OnnxModel, OnnxNode, OnnxTensor } from '../model.js';
import type { Layer } from '../../../nn/layer.js';
import { Reshape } from '../../../nn/layers/core.js';
import type { SymbolicTensor } from '../../../nn/layer.js';
import { Transpose } from '../layers/transpose.js';
import type { FusionPlan } from './patterns.js';
import { logicalShape, transposeBetween } from './perm.js';

/** A computed value: its Graft symbolic tensor and the layout it is stored in (see perm.ts). */
export interface TensorValue {
  kind: 'tensor';
  sym: SymbolicTensor;
  /** perm[i] = the ONNX axis held at Graft axis i. */
  perm: number[];
}

/** A constant value (initializer, folded Constant). */
export interface ConstantValue {
  kind: 'const';
  tensor: OnnxTensor;
}

export type Value = TensorValue | ConstantValue;

/** Layer names: ONNX node names with characters outside [A-Za-z0-9_.-] replaced ('/' separates weight paths). */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[_.]+|_+$/g, '');
}

export class ImportContext {
  /** Values by ONNX name. */
  readonly values = new Map<string, Value>();
  /** Every layer applied so far (disposed when the import fails). */
  readonly layers: Layer[] = [];
  private readonly usedNames = new Set<string>();

  constructor(
    /** The model being imported. */
    readonly model: OnnxModel,
    /** Its folded graph (constants, symbolic shape values). */
    readonly folded: FoldedGraph,
    /** Fused node patterns. */
    readonly plan: FusionPlan,
  ) {
    for (const [name, t] of folded.graph.initializers) this.values.set(name, { kind: 'const', tensor: t });
  }

  get file(): string {
    return this.model.file;
  }

  get opset(): number {
    return this.model.opset;
  }

  attrs(node: OnnxNode): NodeAttributes {
    return new NodeAttributes(this.file, node);
  }

  /** Throws an OnnxError naming the node. */
  fail(node: OnnxNode, problem: string): never {
    throw new OnnxError({ file: this.file, node }, problem);
  }

  /** Input i of the node; an error when it is omitted or unknown. */
  input(node: OnnxNode, i: number): Value {
    const name = node.inputs[i];
    if (!name) return this.fail(node, `input ${i} is missing`);
    const v = this.values.get(name);
    if (!v) {
      if (this.folded.symbolic.has(name)) return this.fail(node, `input '${name}' depends on a symbolic dimension and cannot be used as data`);
      return this.fail(node, `input '${name}' is not available (its producer was not imported)`);
    }
    return v;
  }

  /** Input i as a computed tensor; a constant there is an error. */
  tensorInput(node: OnnxNode, i: number): TensorValue {
    const v = this.input(node, i);
    if (v.kind === 'const') return this.fail(node, `input ${i} ('${node.inputs[i]}') is a constant; only computed tensors are supported there`);
    return v;
  }

  /** Input i as a constant, or undefined when the input is omitted; a computed tensor there is an error. */
  constInput(node: OnnxNode, i: number, what: string): OnnxTensor | undefined {
    if (!node.inputs[i]) return undefined;
    const v = this.input(node, i);
    if (v.kind !== 'const') return this.fail(node, `${what} (input ${i}, '${node.inputs[i]}') must be a constant (initializer), not a computed tensor`);
    return v.tensor;
  }

  /** A constant input that the op cannot do without; a missing one is an error naming it. */
  requiredConst(node: OnnxNode, i: number, what: string): OnnxTensor {
    return this.constInput(node, i, what) ?? this.fail(node, `${what} (input ${i}) is missing`);
  }

  /** An int list given as an attribute before opset `since` and as a constant input from it on. */
  intsArg(node: OnnxNode, i: number, attr: string, since: number): number[] | null {
    if (this.opset < since) {
      const a = this.attrs(node);
      return a.has(attr) ? a.ints(attr) : null;
    }
    const t = this.constInput(node, i, attr);
    return t ? Array.from(t.values as ArrayLike<number>, Number) : null;
  }

  /** A unique layer name from the node's name (plus a suffix for helper layers). */
  layerName(node: OnnxNode, suffix?: string): string {
    const base = sanitizeName(suffix ? `${node.name}_${suffix}` : node.name) || node.opType.toLowerCase();
    let name = base;
    for (let k = 1; this.usedNames.has(name); k++) name = `${base}_${k}`;
    this.usedNames.add(name);
    return name;
  }

  /** Reserves a name (graph inputs). */
  reserveName(name: string): string {
    const base = sanitizeName(name) || 'input';
    let out = base;
    for (let k = 1; this.usedNames.has(out); k++) out = `${base}_${k}`;
    this.usedNames.add(out);
    return out;
  }

  /** Applies a layer to values; wraps Graft's shape errors so they name the ONNX node. */
  apply(node: OnnxNode, layer: Layer, inputs: TensorValue | TensorValue[]): SymbolicTensor {
    this.layers.push(layer);
    try {
      return Array.isArray(inputs) ? layer.apply(inputs.map((v) => v.sym)) : layer.apply(inputs.sym);
    } catch (e) {
      if (e instanceof OnnxError) throw e;
      return this.fail(node, (e as Error).message);
    }
  }

  /** Sets output `index` of the node. */
  setOutput(node: OnnxNode, value: Value, index = 0): void {
    const name = node.outputs[index];
    if (name) this.values.set(name, value);
  }

  /** Logical (ONNX-order) shape of a value; null where unknown (the batch). */
  logical(v: TensorValue): (number | null)[] {
    return logicalShape(v.sym.shape, v.perm);
  }

  /**
   * The value stored in layout `perm`: itself when already so, a free Reshape when only size-1 axes move (and the
   * batch stays first), else a Transpose layer.
   */
  toLayout(node: OnnxNode, v: TensorValue, perm: readonly number[]): TensorValue {
    if (perm.length !== v.perm.length) return this.fail(node, `internal: layout rank ${perm.length} for a rank-${v.perm.length} value`);
    if (perm.every((p, i) => p === v.perm[i])) return v;
    const logical = this.logical(v);
    const big = (order: readonly number[]) => order.filter((a) => logical[a] !== 1);
    const target = perm.map((a) => logical[a] ?? null);
    const same = big(v.perm).join(',') === big(perm).join(',');
    if (same && v.perm[0] === 0 && perm[0] === 0 && target.slice(1).every((d) => d !== null)) {
      const sym = this.apply(node, new Reshape({ name: this.layerName(node, 'reshape'), targetShape: target.slice(1) as number[] }), v);
      return { kind: 'tensor', sym, perm: [...perm] };
    }
    const sym = this.apply(node, new Transpose({ name: this.layerName(node, 'transpose'), perm: transposeBetween(v.perm, perm) }), v);
    return { kind: 'tensor', sym, perm: [...perm] };
  }
}
