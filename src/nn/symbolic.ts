// Symbolic tensors: the placeholders that `input()` and `layer.apply(symbolic)` return to describe a graph.

import type { Layer } from './layer.js';

/** A shape with `null` for unknown dimensions (the batch). */
export type Shape = (number | null)[];

let nextNodeId = 0;

/** One application of a layer to symbolic inputs. */
export class Node {
  /** Creation order; a node is always created after the nodes of its inputs, so ids are a topological order. */
  readonly id = nextNodeId++;
  outputs: SymbolicTensor[] = [];

  constructor(
    readonly layer: Layer,
    readonly inputs: SymbolicTensor[],
    /** Whether the layer received an array (multi-input layers like add) rather than one tensor. */
    readonly multiInput: boolean,
    /** `training` given at apply time: pins this call's mode (e.g. a base applied with `{training: false}`). */
    readonly training: boolean | undefined,
  ) {}
}

export class SymbolicTensor {
  constructor(
    readonly shape: Shape,
    readonly dtype: 'float32' | 'int32',
    /** The node that produces this tensor. */
    readonly node: Node,
    /** Which of the node's outputs this is. */
    readonly index: number,
  ) {}

  get name(): string {
    return this.node.outputs.length > 1 ? `${this.node.layer.name}:${this.index}` : this.node.layer.name;
  }

  toString(): string {
    return `SymbolicTensor(${formatSymbolic(this.shape)}, from '${this.name}')`;
  }
}

/** `[None, 32, 32, 3]`-style text used in summaries and errors. */
export function formatSymbolic(shape: Shape): string {
  return `[${shape.map((d) => (d === null ? 'null' : String(d))).join(',')}]`;
}

/** True when `shape` fits `spec` (same rank, equal wherever spec is known). */
export function shapeFits(spec: Shape, shape: readonly number[]): boolean {
  return spec.length === shape.length && spec.every((d, i) => d === null || d === shape[i]);
}
