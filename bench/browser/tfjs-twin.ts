// Builds the TensorFlow.js (tfjs-layers) twin of a Graft Functional model from its getConfig() graph, with the same
// layer names and weights: the peer of the browser benchmark (a CNN of conv, depthwise, add, pooling, reshape layers).

import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';

type Tf = typeof TfCore;
type Tfl = typeof TfLayers;
type Sym = TfLayers.SymbolicTensor;

interface LayerSpec {
  className: string;
  config: Record<string, unknown>;
}

/** The parts of a Graft Functional config the twin needs (`Functional.getConfig()`). */
export interface GraphConfig {
  layers: LayerSpec[];
  nodes: { layer: string; inputs: [string, number, number][] }[];
  inputs: [string, number, number][];
  outputs: [string, number, number][];
}

/** A named weight: values and shape, as Graft holds it (HWIO conv kernels, [kh, kw, C, M] depthwise, [in, out] dense). */
export interface NamedWeight {
  shape: number[];
  values: Float32Array;
}

type Padding = 'same' | 'valid' | [number, number, number, number];

function pads(name: string, p: Padding, x: Sym, tfl: Tfl): { x: Sym; padding: 'same' | 'valid' } {
  if (!Array.isArray(p)) return { x, padding: p };
  const [t, b, l, r] = p;
  if (t === 0 && b === 0 && l === 0 && r === 0) return { x, padding: 'valid' };
  // NOTE: tfjs convolutions take only 'same'/'valid'; explicit (asymmetric) pads become a ZeroPadding2D before them.
  const padded = tfl.layers.zeroPadding2d({ padding: [[t, b], [l, r]], name: `${name}_pad` }).apply(x) as Sym;
  return { x: padded, padding: 'valid' };
}

function applyLayer(spec: LayerSpec, ins: Sym[], tfl: Tfl): Sym {
  const c = spec.config;
  const name = c['name'] as string;
  const x = ins[0]!;
  const activation = (c['activation'] as string | undefined) ?? 'linear';
  switch (spec.className) {
    case 'Conv2D': {
      const p = pads(name, c['padding'] as Padding, x, tfl);
      return tfl.layers.conv2d({
        name, filters: c['filters'] as number, kernelSize: c['kernelSize'] as number[], strides: c['strides'] as number[],
        dilationRate: c['dilationRate'] as [number, number], padding: p.padding, useBias: c['useBias'] as boolean,
        activation: activation as 'linear',
      }).apply(p.x) as Sym;
    }
    case 'DepthwiseConv2D': {
      const p = pads(name, c['padding'] as Padding, x, tfl);
      return tfl.layers.depthwiseConv2d({
        name, kernelSize: c['kernelSize'] as [number, number], strides: c['strides'] as [number, number],
        depthMultiplier: c['depthMultiplier'] as number, dilationRate: c['dilationRate'] as [number, number],
        padding: p.padding, useBias: c['useBias'] as boolean, activation: activation as 'linear',
      }).apply(p.x) as Sym;
    }
    case 'Add':
      return tfl.layers.add({ name }).apply(ins) as Sym;
    case 'GlobalAveragePooling2D': {
      const y = tfl.layers.globalAveragePooling2d({ name }).apply(x) as Sym;
      // NOTE: tfjs-layers' GlobalAveragePooling2D has no keepdims; a Reshape to [1, 1, C] does it.
      return c['keepdims'] ? (tfl.layers.reshape({ targetShape: [1, 1, x.shape[3]!], name: `${name}_keepdims` }).apply(y) as Sym) : y;
    }
    case 'Reshape':
      return tfl.layers.reshape({ name, targetShape: c['targetShape'] as number[] }).apply(x) as Sym;
    case 'Flatten':
      return tfl.layers.flatten({ name }).apply(x) as Sym;
    case 'Softmax': {
      const axis = c['axis'] as number;
      return tfl.layers.softmax({ name, axis: axis === x.shape.length - 1 ? -1 : axis }).apply(x) as Sym;
    }
    case 'Activation':
      return tfl.layers.activation({ name, activation: activation as 'linear' }).apply(x) as Sym;
    default:
      throw new Error(`tfjs twin: layer '${name}' of class ${spec.className} has no tfjs-layers counterpart here`);
  }
}

/** The tfjs-layers model with Graft's graph and weights (weights keyed `layer/weight`, as Graft names them). */
export function tfjsTwin(tf: Tf, tfl: Tfl, graph: GraphConfig, weights: Map<string, NamedWeight>): TfLayers.LayersModel {
  const specs = new Map(graph.layers.map((s) => [s.config['name'] as string, s]));
  const out = new Map<string, Sym>();
  for (const [name] of graph.inputs) {
    const shape = specs.get(name)?.config['shape'] as number[] | undefined;
    if (!shape) throw new Error(`tfjs twin: input '${name}' has no shape`);
    out.set(name, tfl.input({ shape, name }));
  }
  // NOTE: resolve nodes whose inputs exist until none is left, whatever order the config lists them in.
  let pending = graph.nodes.slice();
  while (pending.length > 0) {
    const ready = pending.filter((n) => n.inputs.every(([l]) => out.has(l)));
    if (ready.length === 0) throw new Error(`tfjs twin: nodes ${pending.map((n) => n.layer).join(', ')} have missing inputs`);
    for (const n of ready) out.set(n.layer, applyLayer(specs.get(n.layer)!, n.inputs.map(([l]) => out.get(l)!), tfl));
    pending = pending.filter((n) => !ready.includes(n));
  }
  const model = tfl.model({ inputs: graph.inputs.map(([l]) => out.get(l)!), outputs: graph.outputs.map(([l]) => out.get(l)!) });
  const used = new Set<string>();
  for (const layer of model.layers) {
    const own = layer.weights;
    if (own.length === 0) continue;
    // NOTE: tfjs orders conv weights [kernel, bias] and depthwise [depthwise_kernel, bias], Graft's names' suffixes.
    const values = own.map((w) => {
      const suffix = w.originalName.slice(w.originalName.lastIndexOf('/') + 1);
      const key = `${layer.name}/${suffix}`;
      const g = weights.get(key);
      if (!g) throw new Error(`tfjs twin: no Graft weight '${key}' for tfjs weight ${w.originalName}`);
      if (g.shape.join() !== w.shape.join()) throw new Error(`tfjs twin: '${key}' is [${g.shape}] in Graft, [${w.shape}] in tfjs`);
      used.add(key);
      return tf.tensor(g.values, g.shape);
    });
    layer.setWeights(values);
    values.forEach((v) => v.dispose());
  }
  const unused = [...weights.keys()].filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`tfjs twin: Graft weights without a tfjs place: ${unused.slice(0, 5).join(', ')}`);
  return model;
}
