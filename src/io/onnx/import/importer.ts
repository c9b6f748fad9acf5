// importOnnxGraph: an ONNX file (or bytes) -> the input and output symbolic tensors of a graph of trainable Graft
// layers, NCHW graphs held NHWC. `graft.models.importOnnx` makes the trainable Model of it.

import { loadOnnxModel, type OnnxSource } from '../source.js';
import { foldConstants } from '../fold.js';
import { checkNodes } from '../node-checks.js';
import { OnnxError } from '../errors.js';
import type { Dim, OnnxModel } from '../model.js';
import type { Functional, FunctionalArgs } from '../../../nn/functional.js';
import { InputLayer } from '../../../nn/layers/input.js';
import { ImportContext, type TensorValue } from './context.js';
import { inputLayout } from './input-layout.js';
import { OPS } from './ops.js';
import { findPatterns } from './patterns.js';
import { channelsLast, isIdentity, logicalShape, physicalOrder, identity } from './perm.js';

/** Options of importOnnx. */
export interface ImportOptions {
  /**
   * Shape of one example in Graft's layout (NHWC for images), without the batch; fixes the dimensions the file
   * leaves symbolic (fixed ones must match).
   */
  inputShape?: number[];
  /** A fixed batch size; default: free (whatever the file says). */
  batchSize?: number;
  /** Model name; default: the ONNX graph's name. */
  name?: string;
}

/** How a model input or output maps between ONNX and Graft. */
export interface ImportedTensor {
  /** The ONNX value name. */
  name: string;
  /** Graft axis i holds ONNX axis perm[i] (identity, or [0,2,3,1] for NCHW maps held NHWC). */
  perm: number[];
  /** The shape declared in the ONNX file (ONNX order). */
  onnxShape: Dim[];
}

/** What importOnnx recorded about a model's interface. */
export interface ImportedModelInfo {
  /** The ONNX file (or '<bytes>'). */
  file: string;
  inputs: ImportedTensor[];
  outputs: ImportedTensor[];
}

const infos = new WeakMap<Functional, ImportedModelInfo>();

/** The ONNX interface of a model made by importOnnx (undefined for other models). */
export function importedModelInfo(model: Functional): ImportedModelInfo | undefined {
  return infos.get(model);
}

/** A graph imported from ONNX: what a Functional model is made of, and how it maps to the file's interface. */
export interface ImportedGraph {
  args: FunctionalArgs & { name: string };
  info: ImportedModelInfo;
}

/** Records the ONNX interface of a model built from an ImportedGraph (runImported and exportOnnx use it). */
export function recordImportedModel(model: Functional, info: ImportedModelInfo): void {
  infos.set(model, info);
}

/**
 * Imports an ONNX model's graph as Graft layers. Every unsupported op or inconsistent node is an OnnxError naming
 * it; no GPU memory is kept after a failure.
 */
export function importOnnxGraph(source: OnnxSource, options: ImportOptions = {}): ImportedGraph {
  const model = loadOnnxModel(source);
  const unsupported = model.graph.nodes.find((n) => n.domain || !(n.opType in OPS));
  if (unsupported) {
    const op = unsupported.domain ? `${unsupported.domain}::${unsupported.opType}` : unsupported.opType;
    throw new OnnxError({ file: model.file, node: unsupported }, `op '${op}' is not supported by the importer`);
  }
  const perms = model.graph.inputs.map((i) => inputLayout(model, i.name, i.shape?.length ?? 0));
  const patched = withInputShapes(model, perms, options);
  const folded = foldConstants(patched);
  checkNodes(patched, folded.shapes);
  const ctx = new ImportContext(patched, folded, findPatterns(patched, folded));
  const inputLayers: InputLayer[] = [];
  try {
    patched.graph.inputs.forEach((info, k) => {
      const perm = perms[k]!;
      const physical = physicalOrder(info.shape!, perm);
      const layer = new InputLayer({ name: ctx.reserveName(info.name), shape: physical.slice(1) as number[], batchSize: options.batchSize });
      inputLayers.push(layer);
      ctx.values.set(info.name, { kind: 'tensor', sym: layer.output, perm });
    });
    for (const node of folded.graph.nodes) {
      if (ctx.plan.skip.has(node)) continue;
      OPS[node.opType]!(ctx, node);
    }
    const outputs = patched.graph.outputs.map((o) => graphOutput(ctx, o.name));
    return {
      args: {
        name: options.name ?? (patched.graph.name || 'onnx_model'),
        inputs: inputLayers.length === 1 ? inputLayers[0]!.output : inputLayers.map((l) => l.output),
        outputs: outputs.length === 1 ? outputs[0]!.sym : outputs.map((o) => o.sym),
      },
      info: {
        file: model.file,
        inputs: model.graph.inputs.map((i, k) => ({ name: i.name, perm: perms[k]!, onnxShape: i.shape ?? [] })),
        outputs: model.graph.outputs.map((o, k) => ({ name: o.name, perm: outputs[k]!.perm, onnxShape: o.shape ?? [] })),
      },
    };
  } catch (e) {
    for (const l of ctx.layers) l.dispose();
    throw e;
  }
}

/** The model with each input's shape made concrete (batch aside): from options.inputShape where given. */
function withInputShapes(model: OnnxModel, perms: number[][], options: ImportOptions): OnnxModel {
  const { inputs } = model.graph;
  if (inputs.length === 0) throw new OnnxError({ file: model.file }, 'has no graph inputs');
  if (options.inputShape && inputs.length !== 1) {
    throw new OnnxError({ file: model.file }, `inputShape is for single-input models; this one has ${inputs.length} inputs`);
  }
  const patchedInputs = inputs.map((info, k) => {
    const where = { file: model.file, tensor: info.name };
    if (!info.shape) throw new OnnxError(where, 'is a graph input without a declared shape');
    if (info.dtype !== 'float32') throw new OnnxError(where, `is a ${info.dtype ?? 'non-tensor'} input; only float32 inputs are supported`);
    if (info.shape.length < 1) throw new OnnxError(where, 'is a scalar input; a batch dimension is needed');
    const given = options.inputShape;
    const perm = perms[k]!;
    if (given && given.length !== info.shape.length - 1) {
      throw new OnnxError(where, `inputShape [${given.join(',')}] has ${given.length} dims; the input has ${info.shape.length - 1} besides the batch`);
    }
    const logicalGiven = given ? logicalShape([null, ...given], perm) : null;
    const shape: Dim[] = info.shape.map((d, i) => {
      if (i === 0) return options.batchSize ?? d;
      const g = logicalGiven?.[i];
      if (typeof g === 'number') {
        if (typeof d === 'number' && d !== g) throw new OnnxError(where, `has dimension ${i} = ${d}, inputShape asks for ${g}`);
        return g;
      }
      if (typeof d !== 'number') throw new OnnxError(where, `has symbolic dimension ${i} ('${d ?? '?'}'); pass inputShape to fix it`);
      return d;
    });
    return { ...info, shape };
  });
  return { ...model, graph: { ...model.graph, inputs: patchedInputs } };
}

/** A graph output as a Graft tensor: NCHW maps stay NHWC (recorded), other layouts are moved back to ONNX order. */
function graphOutput(ctx: ImportContext, name: string): TensorValue {
  const v = ctx.values.get(name);
  const node = ctx.folded.graph.nodes.find((n) => n.outputs.includes(name)) ?? { name, opType: 'output', domain: '', inputs: [], outputs: [name], attributes: new Map() };
  if (!v) return ctx.fail(node, `graph output '${name}' was not produced`);
  if (v.kind === 'const') return ctx.fail(node, `graph output '${name}' is a constant; constant outputs are not supported`);
  if (isIdentity(v.perm) || v.perm.join(',') === channelsLast(4).join(',')) return v;
  return ctx.toLayout(node, v, identity(v.perm.length));
}
