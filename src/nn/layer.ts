// The Layer base class: build -> addWeight, call, computeOutputShape, getConfig, trainable, and apply() on
// symbolic tensors (graph building) or real ones (eager); with the symbolic tensors and nodes that apply() creates.

import { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { initialize, type InitializerName } from './initializers.js';
import { withComputePrecision, type ComputePrecision } from '../gpu/variants.js';
import { globalPolicy, policyOf, type Policy, type PolicyName } from './mixed-precision.js';
import { formatSymbolic, type Shape } from './symbolic.js';
import { Variable } from './variable.js';

/** Options every layer takes. */
export interface LayerArgs {
  /** Unique within a model; defaults to the snake_case class name with a counter (`dense`, `dense_1`). */
  name?: string;
  /** Whether the layer's weights train (default true). */
  trainable?: boolean;
  /** Shape of one example without the batch dimension; lets a Sequential build without an input layer. */
  inputShape?: number[];
  /**
   * Dtype policy (Keras layer `dtype`): 'mixed_float16' runs the layer's kernels in their f16 variants with float32
   * weights; default the global policy at construction. Pass 'float32' on the last layer to keep a softmax output in
   * float32 precision under a mixed global policy, as Keras recommends.
   */
  dtype?: PolicyName | Policy;
}

/** How a layer is being called. */
export interface CallContext {
  /** Training mode: dropout and augmentation active, BatchNormalization on batch statistics. */
  training: boolean;
  /** True when some container above this layer is not trainable. */
  frozen: boolean;
}

/** Options of `apply`. */
export interface ApplyOptions {
  /** Pins the mode of this call; in a graph it overrides the mode the outer model runs in. */
  training?: boolean;
}

/** Config as returned by getConfig(): plain JSON. */
export type LayerConfig = Record<string, unknown> & { name: string; trainable: boolean };

const nameCounts = new Map<string, number>();

/** `BatchNormalization` -> `batch_normalization`, `Conv2D` -> `conv2d`. */
export function snakeCase(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase().replace(/(\d)_d\b/g, '$1d');
}

/** Keras-style unique default names per session: `dense`, `dense_1`, ... */
export function uniqueName(base: string): string {
  const n = nameCounts.get(base) ?? 0;
  nameCounts.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

/** Base of every layer (Keras `Layer`): build → addWeight, call, computeOutputShape, getConfig, trainable, apply. */
export abstract class Layer {
  /** The class name written in configs; each subclass sets its own. */
  static readonly className: string = 'Layer';

  /** Unique within a model; the prefix of its weights' names (`dense/kernel`). */
  readonly name: string;
  /** Shape of one example, when given at construction. */
  readonly inputShape: number[] | undefined;
  /** Whether `build` has created the weights. */
  built = false;
  /** Nodes created by applying this layer to symbolic tensors. */
  readonly inboundNodes: Node[] = [];
  protected ownWeights: Variable[] = [];
  /** The dtype policy, fixed at construction (Keras `dtype_policy`). */
  readonly dtypePolicy: Policy;
  private trainableFlag: boolean;

  constructor(args: LayerArgs = {}) {
    this.name = args.name ?? uniqueName(snakeCase(this.className));
    this.trainableFlag = args.trainable ?? true;
    this.inputShape = args.inputShape ? [...args.inputShape] : undefined;
    this.dtypePolicy = args.dtype !== undefined ? policyOf(args.dtype) : globalPolicy();
  }

  /** The precision the layer's kernels compute in ('float16' under 'mixed_float16'); Keras `compute_dtype`. */
  get computeDtype(): ComputePrecision {
    return this.dtypePolicy.computeDtype;
  }

  /** The dtype of the layer's weights (always 'float32'); Keras `variable_dtype`. */
  get variableDtype(): 'float32' {
    return this.dtypePolicy.variableDtype;
  }

  /** The class name written in configs (the static `className` of the subclass). */
  get className(): string {
    return (this.constructor as typeof Layer).className;
  }

  /** Layers this one contains (containers override). */
  get sublayers(): Layer[] {
    return [];
  }

  /** Whether this layer's weights train (Keras `trainable`); see the setter. */
  get trainable(): boolean {
    return this.trainableFlag;
  }

  /** Sets the flag here and on every contained layer, as Keras 3 does; takes effect at the next compile. */
  set trainable(value: boolean) {
    this.trainableFlag = value;
    for (const l of this.sublayers) l.trainable = value;
  }

  /** Creates the weights for an input of this shape (batch dim null). Subclasses add weights here. */
  build(_inputShape: Shape | Shape[]): void {}

  /** The computation on real tensors. Receives one tensor, or an array when applied to an array. */
  abstract call(inputs: Tensor | Tensor[], ctx: CallContext): Tensor | Tensor[];

  /** Output shape for an input shape (default: unchanged). */
  computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  /** The constructor arguments that rebuild this layer. Subclasses extend it. */
  getConfig(): LayerConfig {
    const c: LayerConfig = { name: this.name, trainable: this.trainable, dtype: this.dtypePolicy.name };
    if (this.inputShape) c.inputShape = this.inputShape;
    return c;
  }

  /** Rebuilds a layer from getConfig() output. */
  static fromConfig(this: new (args: never) => Layer, config: Record<string, unknown>): Layer {
    return new this(config as never);
  }

  /** Adds a weight named `this.name/name`. */
  protected addWeight(name: string, shape: readonly number[], init: InitializerName, trainable = true): Variable {
    const v = new Variable(`${this.name}/${name}`, initialize(init, shape), trainable);
    this.ownWeights.push(v);
    return v;
  }

  /** Every weight (own and contained), trainable or not. */
  get weights(): Variable[] {
    const out = new Set<Variable>(this.ownWeights);
    for (const l of this.sublayers) for (const w of l.weights) out.add(w);
    return [...out];
  }

  /** Weights that gradients update: none when this layer (or, through recursion, a container above) is frozen. */
  get trainableWeights(): Variable[] {
    if (!this.trainable) return [];
    const out = new Set<Variable>(this.ownWeights.filter((w) => w.trainable));
    for (const l of this.sublayers) for (const w of l.trainableWeights) out.add(w);
    return [...out];
  }

  /** Weights that do not train: those of frozen layers and statistics such as moving means. */
  get nonTrainableWeights(): Variable[] {
    const t = new Set(this.trainableWeights);
    return this.weights.filter((w) => !t.has(w));
  }

  /** Number of scalars in the weights. */
  countParams(): number {
    return this.weights.reduce((n, w) => n + w.value.size, 0);
  }

  /** Builds on first use. */
  ensureBuilt(shape: Shape | Shape[]): void {
    if (this.built) return;
    this.build(shape);
    this.built = true;
  }

  /** Calls the layer on real tensors in a given context (what containers use). */
  invoke(inputs: Tensor | Tensor[], ctx: CallContext): Tensor | Tensor[] {
    const shapes = Array.isArray(inputs) ? inputs.map((t) => [...t.shape] as Shape) : ([...inputs.shape] as Shape);
    this.ensureBuilt(batchFree(shapes));
    // NOTE: the ops recorded here keep this precision for their backward too (recordOp captures it).
    return withComputePrecision(this.computeDtype, () => this.call(inputs, ctx));
  }

  /**
   * Applies the layer: to symbolic tensors it records a graph node and returns symbolic outputs; to real tensors
   * it computes (inference mode unless `training: true`).
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[], options?: ApplyOptions): SymbolicTensor;
  apply(inputs: Tensor | Tensor[], options?: ApplyOptions): Tensor;
  apply(inputs: SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[], options: ApplyOptions = {}): SymbolicTensor | Tensor {
    const out = this.applyAll(inputs as SymbolicTensor[], options);
    if (Array.isArray(out)) {
      if (out.length !== 1) throw new Error(`Graft ${this.name}: apply() gives ${out.length} outputs; use applyAll()`);
      return out[0]!;
    }
    return out;
  }

  /** Like apply(), for layers with several outputs (multi-output models). */
  applyAll(inputs: SymbolicTensor | SymbolicTensor[], options?: ApplyOptions): SymbolicTensor | SymbolicTensor[];
  applyAll(inputs: Tensor | Tensor[], options?: ApplyOptions): Tensor | Tensor[];
  applyAll(inputs: SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[], options: ApplyOptions = {}): SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[] {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length === 0) throw new Error(`Graft ${this.name}: apply() needs at least one input`);
    if (list.every((t) => t instanceof SymbolicTensor)) return this.applySymbolic(inputs as SymbolicTensor | SymbolicTensor[], options);
    if (list.every((t) => t instanceof Tensor)) {
      return this.invoke(inputs as Tensor | Tensor[], { training: options.training ?? false, frozen: false });
    }
    throw new Error(`Graft ${this.name}: apply() takes all symbolic or all real tensors, not a mix`);
  }

  private applySymbolic(inputs: SymbolicTensor | SymbolicTensor[], options: ApplyOptions): SymbolicTensor | SymbolicTensor[] {
    const multi = Array.isArray(inputs);
    const list = multi ? inputs : [inputs];
    const shapes = multi ? list.map((t) => t.shape) : list[0]!.shape;
    this.ensureBuilt(shapes);
    const outShape = this.computeOutputShape(shapes);
    const node = new Node(this, list, multi, options.training);
    const outShapes = isShapeList(outShape) ? outShape : [outShape];
    node.outputs = outShapes.map((s, i) => new SymbolicTensor(s, 'float32', node, i));
    this.inboundNodes.push(node);
    return isShapeList(outShape) ? node.outputs : node.outputs[0]!;
  }

  /** Frees the weights. */
  dispose(): void {
    for (const w of this.weights) w.dispose();
  }

  /** `ClassName('name')`, for messages. */
  toString(): string {
    return `${this.className}('${this.name}')`;
  }
}

/** True for a list of shapes (as opposed to one shape). */
export function isShapeList(s: Shape | Shape[]): s is Shape[] {
  return s.length > 0 && Array.isArray(s[0]);
}

/** Replaces the batch dimension with null. */
function batchFree(s: Shape | Shape[]): Shape | Shape[] {
  return isShapeList(s) ? s.map((x) => [null, ...x.slice(1)]) : [null, ...s.slice(1)];
}

/** The single tensor of a one-input layer; throws naming the layer otherwise. */
export function one(layer: Layer, x: Tensor | Tensor[]): Tensor {
  if (Array.isArray(x)) {
    if (x.length !== 1) throw new Error(`Graft ${layer.className} '${layer.name}': expects one input, got ${x.length}`);
    return x[0]!;
  }
  return x;
}

/** The single shape of a one-input layer. */
export function oneShape(layer: Layer, s: Shape | Shape[]): Shape {
  if (isShapeList(s)) {
    if (s.length !== 1) throw new Error(`Graft ${layer.className} '${layer.name}': expects one input, got ${s.length}`);
    return s[0]!;
  }
  return s;
}

/** Error for an input whose shape does not fit what the layer was built for. */
export function shapeError(layer: Layer, what: string, got: readonly number[] | Shape): Error {
  const g = got.some((d) => d === null) ? formatSymbolic(got as Shape) : formatShape(got as number[]);
  return new Error(`Graft ${layer.className} '${layer.name}': ${what}, got input ${g}`);
}

let nextNodeId = 0;

/** One application of a layer to symbolic inputs. */
export class Node {
  /** Creation order; a node is always created after the nodes of its inputs, so ids are a topological order. */
  readonly id = nextNodeId++;
  /** The symbolic tensors this application produced. */
  outputs: SymbolicTensor[] = [];

  constructor(
    /** The layer applied. */
    readonly layer: Layer,
    /** The symbolic inputs it was applied to. */
    readonly inputs: SymbolicTensor[],
    /** Whether the layer received an array (multi-input layers like add) rather than one tensor. */
    readonly multiInput: boolean,
    /** `training` given at apply time: pins this call's mode (e.g. a base applied with `{training: false}`). */
    readonly training: boolean | undefined,
  ) {}
}

/** A placeholder for a tensor in a graph under construction: what `input()` and `layer.apply(symbolic)` return. */
export class SymbolicTensor {
  constructor(
    /** Shape, with null for the unknown batch dimension. */
    readonly shape: Shape,
    /** Element type. */
    readonly dtype: 'float32' | 'int32',
    /** The node that produces this tensor. */
    readonly node: Node,
    /** Which of the node's outputs this is. */
    readonly index: number,
  ) {}

  /** The producing layer's name, with `:index` when the layer has several outputs. */
  get name(): string {
    return this.node.outputs.length > 1 ? `${this.node.layer.name}:${this.index}` : this.node.layer.name;
  }

  toString(): string {
    return `SymbolicTensor(${formatSymbolic(this.shape)}, from '${this.name}')`;
  }
}
