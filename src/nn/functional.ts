// Functional: a container that runs a DAG of layer nodes, built from symbolic tensors (`model({inputs, outputs})`)
// or from a list of layers (sequential mode, built on the first known input shape). It is itself a Layer, so a
// model can be applied inside another.

import { isGradEnabled } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import type { PolicyName } from './mixed-precision.js';
import { Layer, SymbolicTensor, type CallContext, type LayerArgs, type LayerConfig, type Node } from './layer.js';
import { InputLayer } from './layers/input.js';
import { fusionEnabled, planFusion, type FusedGroup } from './fusion.js';
import { deserializeLayer, registerLayer } from './registry.js';
import { formatSymbolic, shapeFits, type Shape } from './symbolic.js';
import { summaryText } from './summary.js';
import type { Variable } from './variable.js';

/** Arguments of a functional model. */
export interface FunctionalArgs extends LayerArgs {
  inputs: SymbolicTensor | SymbolicTensor[];
  outputs: SymbolicTensor | SymbolicTensor[];
}

/** Arguments of a sequential model. */
export interface SequentialArgs extends LayerArgs {
  /** The layers in order; the first may be an InputLayer or carry `inputShape`. */
  layers?: Layer[];
}

/** A reference to a node output inside a config: [layer name, node index within this model, output index]. */
type TensorRef = [string, number, number];

interface NodeConfig {
  layer: string;
  inputs: TensorRef[];
  multi: boolean;
  training?: boolean;
}

/** A model as a graph of layers (Keras functional API), or a list of layers in sequential mode; the base of Model. */
export class Functional extends Layer {
  static override readonly className: string = 'Functional';
  /** The graph's symbolic inputs. */
  inputs: SymbolicTensor[] = [];
  /** The graph's symbolic outputs. */
  outputs: SymbolicTensor[] = [];
  private nodes: Node[] = [];
  private graphLayers: Layer[] = [];
  private multiIn = false;
  private multiOut = false;
  /** Non-null in sequential mode. */
  private seqLayers: Layer[] | null = null;
  /** Each fused node's group (src/nn/fusion.ts), planned on the first call after the graph is set. */
  private fusion: Map<Node, FusedGroup> | null = null;

  constructor(args: FunctionalArgs | SequentialArgs) {
    super(args);
    if ('outputs' in args) {
      this.multiIn = Array.isArray(args.inputs);
      this.multiOut = Array.isArray(args.outputs);
      this.setGraph(listOf(args.inputs), listOf(args.outputs));
      return;
    }
    this.seqLayers = [];
    for (const l of args.layers ?? []) this.addLayer(l);
  }

  /** True for a model made from a list of layers. */
  get isSequential(): boolean {
    return this.seqLayers !== null;
  }

  /** Whether the graph exists (a sequential model without an input shape builds on its first call). */
  get graphBuilt(): boolean {
    return this.nodes.length > 0;
  }

  /** Layers in order; functional models list their InputLayers, sequential ones do not (as in Keras). */
  get layers(): Layer[] {
    if (this.seqLayers) return this.seqLayers.filter((l) => !(l instanceof InputLayer));
    return [...this.graphLayers];
  }

  override get sublayers(): Layer[] {
    return this.seqLayers ? [...this.seqLayers] : [...this.graphLayers];
  }

  /** The layer called `name`, or at position `index` in `layers`. */
  getLayer(name: string): Layer;
  getLayer(query: { index: number }): Layer;
  getLayer(query: string | { index: number }): Layer {
    const all = this.layers;
    if (typeof query === 'string') {
      const l = this.sublayers.find((x) => x.name === query);
      if (!l) throw new Error(`Graft model '${this.name}': no layer named '${query}' (have ${all.map((x) => x.name).join(', ')})`);
      return l;
    }
    const l = all[query.index];
    if (!l) throw new Error(`Graft model '${this.name}': layer index ${query.index} out of range (${all.length} layers)`);
    return l;
  }

  /** Appends a layer (sequential mode only). */
  addLayer(layer: Layer): void {
    if (!this.seqLayers) throw new Error(`Graft model '${this.name}': add() is for sequential models`);
    if (this.seqLayers.some((l) => l.name === layer.name)) {
      throw new Error(`Graft model '${this.name}': layer name '${layer.name}' is already used; names must be unique`);
    }
    if (this.seqLayers.length === 0 && !(layer instanceof InputLayer) && layer.inputShape) {
      this.seqLayers.push(new InputLayer({ shape: layer.inputShape, name: `${this.name}_input` }));
    }
    this.seqLayers.push(layer);
    const first = this.seqLayers[0]!;
    if (first instanceof InputLayer) {
      const out = this.graphBuilt ? this.outputs[0]! : first.output;
      const next = layer === first ? out : layer.apply(out);
      this.setGraph([first.output], [next]);
    }
  }

  override build(shape: Shape | Shape[]): void {
    if (this.graphBuilt || !this.seqLayers) return;
    const s = Array.isArray(shape[0]) ? (shape as Shape[])[0]! : (shape as Shape);
    const inputLayer = new InputLayer({ shape: s.slice(1) as number[], name: `${this.name}_input` });
    let x = inputLayer.output;
    for (const l of this.seqLayers) x = l.apply(x);
    this.seqLayers.unshift(inputLayer);
    this.setGraph([inputLayer.output], [x]);
  }

  private setGraph(inputs: SymbolicTensor[], outputs: SymbolicTensor[]): void {
    for (const t of inputs) {
      if (!(t.node.layer instanceof InputLayer)) throw new Error(`Graft model '${this.name}': input ${t} does not come from input()`);
    }
    const seen = new Set<Node>();
    const stack = outputs.map((t) => t.node);
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      if (n.layer instanceof InputLayer && !inputs.some((t) => t.node === n)) {
        throw new Error(`Graft model '${this.name}': the outputs depend on input '${n.layer.name}', which is not in inputs`);
      }
      for (const i of n.inputs) stack.push(i.node);
    }
    const nodes = [...seen].sort((a, b) => a.id - b.id);
    const layers: Layer[] = [];
    const names = new Map<string, Layer>();
    for (const n of nodes) {
      if (layers.includes(n.layer)) continue;
      const other = names.get(n.layer.name);
      if (other) throw new Error(`Graft model '${this.name}': layer name '${n.layer.name}' is used by two layers; names must be unique`);
      names.set(n.layer.name, n.layer);
      layers.push(n.layer);
    }
    this.inputs = inputs;
    this.outputs = outputs;
    this.dropFusion();
    this.nodes = nodes;
    this.graphLayers = layers;
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    if (!this.graphBuilt) this.build(inputShape);
    const shapes = this.outputs.map((t) => t.shape);
    return this.multiOut ? shapes : shapes[0]!;
  }

  /** Output shapes of this model's node(s) of `layer` (for summaries). */
  outputShapesOf(layer: Layer): Shape[] {
    return this.nodes.filter((n) => n.layer === layer).flatMap((n) => n.outputs.map((o) => o.shape));
  }

  /** The nodes of the graph in execution order. */
  get graphNodes(): readonly Node[] {
    return this.nodes;
  }

  call(inputs: Tensor | Tensor[], ctx: CallContext): Tensor | Tensor[] {
    const xs = Array.isArray(inputs) ? inputs : [inputs];
    if (!this.graphBuilt) this.build([null, ...xs[0]!.shape.slice(1)]);
    if (xs.length !== this.inputs.length) {
      throw new Error(`Graft model '${this.name}': expects ${this.inputs.length} inputs, got ${xs.length}`);
    }
    const values = new Map<SymbolicTensor, Tensor>();
    xs.forEach((x, i) => {
      const spec = this.inputs[i]!;
      if (!shapeFits(spec.shape, x.shape)) {
        throw new Error(`Graft model '${this.name}': input ${i} ('${spec.name}') expects shape ${formatSymbolic(spec.shape)}, got ${formatShape(x.shape)}`);
      }
      values.set(spec, x);
    });
    // NOTE: an intermediate is freed after its last use unless the tape may read it in backward: with grad
    // recording, that is when a consumer's output requires grad (a frozen base keeps nothing for backward).
    const release = this.useCounts(xs);
    const recording = isGradEnabled();
    const inner: CallContext = { training: ctx.training, frozen: ctx.frozen || !this.trainable };
    const ctxOf = (node: Node): CallContext => ({ ...inner, training: node.training ?? inner.training });
    // NOTE: drops one use of each input of `node` (or of a fused group's members, read from outside it).
    const consume = (args: Tensor[], taped: boolean) => {
      for (const t of args) {
        if (taped || t.requiresGrad) release.pinned.add(t);
        const left = (release.counts.get(t) ?? 0) - 1;
        release.counts.set(t, left);
        if (left === 0 && !release.pinned.has(t)) t.dispose();
      }
    };
    const produce = (node: Node, outs: Tensor[]) => {
      node.outputs.forEach((s, i) => values.set(s, outs[i]!));
      outs.forEach((t, i) => release.counts.set(t, (release.counts.get(t) ?? 0) + (release.uses.get(node.outputs[i]!) ?? 0)));
    };
    const runNode = (node: Node) => {
      const args = node.inputs.map((s) => values.get(s)!);
      const out = node.layer.invoke(node.multiInput ? args : args[0]!, ctxOf(node));
      const outs = Array.isArray(out) ? out : [out];
      if (outs.length !== node.outputs.length) {
        throw new Error(`Graft model '${this.name}': layer '${node.layer.name}' gave ${outs.length} outputs, expected ${node.outputs.length}`);
      }
      produce(node, outs);
      consume(args, recording && outs.some((t) => t.requiresGrad));
    };
    const plan = fusionEnabled() ? this.fusionPlan() : null;
    for (const node of this.nodes) {
      if (node.inputs.length === 0) continue;
      const group = plan?.get(node);
      if (!group) {
        runNode(node);
        continue;
      }
      // NOTE: a group runs at its last node; its other members are skipped (nothing else reads their outputs).
      if (node !== group.nodes[group.nodes.length - 1]) continue;
      const out = group.run((s) => values.get(s)!, ctxOf);
      if (!out) {
        for (const m of group.nodes) runNode(m);
        continue;
      }
      produce(node, [out]);
      const inside = new Set(group.nodes.flatMap((m) => m.outputs));
      // NOTE: a group that recorded (conv → BN → activation under a gradient) may read its inputs in backward.
      for (const m of group.nodes) consume(m.inputs.filter((s) => !inside.has(s)).map((s) => values.get(s)!), recording && out.requiresGrad);
    }
    const result = this.outputs.map((s) => values.get(s)!);
    return this.multiOut ? result : result[0]!;
  }

  private fusionPlan(): Map<Node, FusedGroup> {
    this.fusion ??= planFusion(this.nodes, this.outputs);
    return this.fusion;
  }

  private dropFusion(): void {
    for (const g of new Set(this.fusion?.values() ?? [])) g.dispose();
    this.fusion = null;
  }

  /** Frees the weights and any cached folded weights. */
  override dispose(): void {
    this.dropFusion();
    super.dispose();
  }

  /** How many node inputs read each symbolic tensor; model inputs and outputs are pinned (never freed here). */
  private useCounts(xs: Tensor[]): { uses: Map<SymbolicTensor, number>; counts: Map<Tensor, number>; pinned: Set<Tensor> } {
    const uses = new Map<SymbolicTensor, number>();
    for (const n of this.nodes) for (const s of n.inputs) uses.set(s, (uses.get(s) ?? 0) + 1);
    for (const s of this.outputs) uses.set(s, (uses.get(s) ?? 0) + 1);
    const counts = new Map<Tensor, number>();
    xs.forEach((x, i) => counts.set(x, (counts.get(x) ?? 0) + (uses.get(this.inputs[i]!) ?? 0)));
    return { uses, counts, pinned: new Set(xs) };
  }

  /** Keras-like table of layers, output shapes and parameter counts; printed with `print` and returned. */
  summary(print: (line: string) => void = console.log): string {
    const text = summaryText(this);
    for (const line of text.split('\n')) print(line);
    return text;
  }

  /** Weights keyed by layer path: nested models prefix their name (`base/block1a_dwconv/depthwise_kernel`). */
  namedWeights(prefix = ''): Map<string, Variable> {
    const out = new Map<string, Variable>();
    const seen = new Set<Variable>();
    for (const l of this.sublayers) {
      if (l instanceof Functional) {
        for (const [k, v] of l.namedWeights(`${prefix}${l.name}/`)) if (!seen.has(v)) (seen.add(v), out.set(k, v));
        continue;
      }
      for (const v of l.weights) if (!seen.has(v)) (seen.add(v), out.set(prefix + v.name, v));
    }
    return out;
  }

  override getConfig(): LayerConfig {
    const base = super.getConfig();
    const layerSpec = (l: Layer) => ({ className: l.className, config: l.getConfig() });
    if (this.seqLayers) {
      const first = this.seqLayers[0];
      const layers = this.seqLayers.filter((l) => !(l instanceof InputLayer)).map(layerSpec);
      const c: LayerConfig = { ...base, layers };
      if (first instanceof InputLayer) c.inputShape = first.batchShape.slice(1) as number[];
      return c;
    }
    const local = new Map<Node, number>();
    const perLayer = new Map<Layer, number>();
    for (const n of this.nodes) {
      const k = perLayer.get(n.layer) ?? 0;
      local.set(n, k);
      perLayer.set(n.layer, k + 1);
    }
    const ref = (t: SymbolicTensor): TensorRef => [t.node.layer.name, local.get(t.node)!, t.index];
    const nodes: NodeConfig[] = this.nodes
      .filter((n) => n.inputs.length > 0)
      .map((n) => ({ layer: n.layer.name, inputs: n.inputs.map(ref), multi: n.multiInput, ...(n.training !== undefined ? { training: n.training } : {}) }));
    return {
      ...base,
      layers: this.graphLayers.map(layerSpec),
      nodes,
      inputs: this.inputs.map(ref),
      outputs: this.outputs.map(ref),
      multiInput: this.multiIn,
      multiOutput: this.multiOut,
    };
  }

  static override fromConfig(this: new (args: FunctionalArgs | SequentialArgs) => Functional, config: Record<string, unknown>): Functional {
    const specs = config.layers as { className: string; config: Record<string, unknown> }[];
    const common = { name: config.name as string, trainable: config.trainable as boolean, ...(typeof config.dtype === 'string' ? { dtype: config.dtype as PolicyName } : {}) };
    if (!('nodes' in config)) {
      const layers = specs.map((s) => deserializeLayer(s));
      if (config.inputShape) layers.unshift(new InputLayer({ shape: config.inputShape as number[], name: `${common.name}_input` }));
      return new this({ ...common, layers });
    }
    const byName = new Map<string, Layer>();
    for (const s of specs) byName.set(s.config.name as string, deserializeLayer(s));
    const made = new Map<string, SymbolicTensor[][]>();
    const lookup = ([name, k, i]: TensorRef): SymbolicTensor => {
      const layer = byName.get(name);
      if (layer instanceof InputLayer) return layer.output;
      const t = made.get(name)?.[k]?.[i];
      if (!t) throw new Error(`Graft: model config refers to missing tensor ${name}[${k}][${i}]`);
      return t;
    };
    for (const n of config.nodes as NodeConfig[]) {
      const layer = byName.get(n.layer)!;
      const ins = n.inputs.map(lookup);
      const out = layer.applyAll(n.multi ? ins : ins[0]!, { training: n.training });
      const list = Array.isArray(out) ? out : [out];
      made.set(n.layer, [...(made.get(n.layer) ?? []), list]);
    }
    const inputs = (config.inputs as TensorRef[]).map(lookup);
    const outputs = (config.outputs as TensorRef[]).map(lookup);
    return new this({
      ...common,
      inputs: config.multiInput ? inputs : inputs[0]!,
      outputs: config.multiOutput ? outputs : outputs[0]!,
    });
  }
}

function listOf<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

registerLayer(Functional);
