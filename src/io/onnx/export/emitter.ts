// Export state: for each Graft value, the ONNX names of its forms. Graft keeps 4-D maps NHWC; ONNX convolution,
// pooling and BatchNormalization want NCHW, so a map may exist in either form and Transposes are made lazily, once
// per value and direction (elementwise layers keep whichever form their input has).

import { GraphBuilder, int, ints, type WritableAttribute } from '../writer.js';
import type { Shape } from '../../../nn/symbolic.js';
import { sanitizeName } from '../import/context.js';
import { transposeValues } from '../import/perm.js';

/** An exported value: its Graft (NHWC-order) shape and the ONNX names of the forms made so far. */
export interface ExportValue {
  /** Graft shape (batch null). */
  shape: Shape;
  /** Name of the value in Graft's axis order. */
  nhwc?: string;
  /** Name of the NCHW form (rank-4 values only). */
  nchw?: string;
}

/** Which form an elementwise op should read and write. */
export type Form = 'nhwc' | 'nchw';

/** NHWC axis -> NCHW axis. */
export const NCHW_AXIS = [0, 2, 3, 1];

export class OnnxEmitter {
  readonly g: GraphBuilder;
  private readonly used = new Set<string>();

  constructor(name: string) {
    this.g = new GraphBuilder(name);
  }

  /** A fresh value or initializer name based on `base`. */
  fresh(base: string): string {
    const b = sanitizeName(base) || 'v';
    let n = b;
    for (let k = 1; this.used.has(n); k++) n = `${b}_${k}`;
    this.used.add(n);
    return n;
  }

  /** Adds a node with one output; returns the output name. */
  node(op: string, inputs: string[], attrs: Record<string, WritableAttribute>, name: string): string {
    const nodeName = this.fresh(name);
    const out = this.fresh(`${nodeName}_out`);
    this.g.node(op, inputs, [out], attrs, nodeName);
    return out;
  }

  /** A float32 initializer. */
  floats(name: string, dims: number[], values: Float32Array): string {
    return this.g.floatInit(this.fresh(name), dims, values);
  }

  /** An int64 initializer. */
  int64s(name: string, values: number[]): string {
    return this.g.int64Init(this.fresh(name), [values.length], values);
  }

  /** A float32 scalar initializer. */
  scalar(name: string, v: number): string {
    return this.g.floatInit(this.fresh(name), [], Float32Array.of(v));
  }

  /** The NHWC (Graft-order) name of a value, transposing from NCHW once if needed. */
  nhwc(v: ExportValue, where: string): string {
    if (!v.nhwc) v.nhwc = this.node('Transpose', [v.nchw!], { perm: ints([0, 2, 3, 1]) }, `${where}_to_nhwc`);
    return v.nhwc;
  }

  /** The NCHW name of a rank-4 value, transposing from NHWC once if needed. */
  nchw(v: ExportValue, where: string): string {
    if (v.shape.length !== 4) throw new Error(`Graft exportOnnx: ${where} needs a rank-4 input, got rank ${v.shape.length}`);
    if (!v.nchw) v.nchw = this.node('Transpose', [v.nhwc!], { perm: ints([0, 3, 1, 2]) }, `${where}_to_nchw`);
    return v.nchw;
  }

  /** The form elementwise ops on these values should use: NCHW when every rank-4 input already has it. */
  formOf(vs: ExportValue[]): Form {
    return vs.every((v) => v.shape.length === 4 && v.nchw) ? 'nchw' : 'nhwc';
  }

  /** The name of a value in a form. */
  get(v: ExportValue, form: Form, where: string): string {
    return form === 'nchw' ? this.nchw(v, where) : this.nhwc(v, where);
  }

  /** A value with one form set. */
  value(shape: Shape, form: Form, name: string): ExportValue {
    return form === 'nchw' ? { shape, nchw: name } : { shape, nhwc: name };
  }

  /**
   * A constant that broadcasts against a Graft-order value of rank `rank`, as an initializer for `form` (rank-4
   * NCHW: padded to rank 4 and transposed).
   */
  constant(name: string, dims: number[], values: Float32Array, rank: number, form: Form): string {
    if (form === 'nhwc' || values.length === 1) return this.floats(name, dims, values);
    const padded = [...new Array<number>(Math.max(0, rank - dims.length)).fill(1), ...dims];
    const perm = [0, 3, 1, 2];
    return this.floats(name, perm.map((p) => padded[p]!), transposeValues(values, padded, perm));
  }

  /** Clip to [lo, hi] (opset 11+ input form). */
  clip(x: string, lo: number, hi: number, name: string): string {
    return this.node('Clip', [x, this.scalar(`${name}_min`, lo), this.scalar(`${name}_max`, hi)], {}, name);
  }

  /** Softmax along `axis`. */
  softmax(x: string, axis: number, name: string): string {
    return this.node('Softmax', [x], { axis: int(axis) }, name);
  }
}
