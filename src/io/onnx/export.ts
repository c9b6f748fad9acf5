// exportOnnx: a (trained) Graft model as an ONNX file that onnxruntime runs with the same outputs, with 4-D inputs
// and outputs in NHWC (Graft's layout) or NCHW (PyTorch's).

import { Functional } from '../../nn/functional.js';
import type { SymbolicTensor } from '../../nn/layer.js';
import { platform } from '../../platform/platform.js';
import { importedModelInfo } from './import/importer.js';
import { encodeModel } from './writer.js';
import { OnnxEmitter, type ExportValue } from './export/emitter.js';
import { emitLayer } from './export/layers.js';
import type { Dim } from './model.js';

/** Options of exportOnnx. */
export interface ExportOptions {
  /** Layout of the file's 4-D inputs and outputs: 'NHWC' (Graft's own, default) or 'NCHW'. */
  layout?: 'NHWC' | 'NCHW';
  /** Default-domain opset written (default 17; 14 at least, for HardSwish). */
  opset?: number;
}

/** Emits a functional graph applied to `inputs`; nested models are inlined with their name as a prefix. */
async function emitGraph(e: OnnxEmitter, f: Functional, inputs: ExportValue[], prefix: string): Promise<ExportValue[]> {
  if (!f.graphBuilt) throw new Error(`Graft exportOnnx: model '${f.name}' is not built yet (call it once or give an input shape)`);
  const values = new Map<SymbolicTensor, ExportValue>();
  f.inputs.forEach((t, i) => values.set(t, inputs[i]!));
  for (const node of f.graphNodes) {
    if (node.inputs.length === 0) continue;
    const ins = node.inputs.map((t) => values.get(t)!);
    const layer = node.layer;
    const outs = layer instanceof Functional
      ? await emitGraph(e, layer, ins, `${prefix}${layer.name}/`)
      : [await emitLayer({ e, layer, inputs: ins, outShape: node.outputs[0]!.shape, name: `${prefix}${layer.name}` })];
    if (outs.length !== node.outputs.length) throw new Error(`Graft exportOnnx: layer '${layer.name}' gives ${node.outputs.length} outputs; one is supported`);
    node.outputs.forEach((t, i) => values.set(t, outs[i]!));
  }
  return f.outputs.map((t) => values.get(t)!);
}

function onnxDims(shape: (number | null)[], nchw: boolean): Dim[] {
  const dims: Dim[] = shape.map((d, i) => (d === null ? (i === 0 ? 'N' : `d${i}`) : d));
  return nchw ? [0, 3, 1, 2].map((p) => dims[p]!) : dims;
}

/** The model as ONNX bytes. */
export async function exportOnnxBytes(model: Functional, options: ExportOptions = {}): Promise<Uint8Array> {
  const layout = options.layout ?? 'NHWC';
  if (layout !== 'NHWC' && layout !== 'NCHW') throw new Error(`Graft exportOnnx: layout must be 'NHWC' or 'NCHW', got '${layout as string}'`);
  const opset = options.opset ?? 17;
  if (opset < 14 || opset > 17) throw new Error(`Graft exportOnnx: opset ${opset} is not supported (14 to 17)`);
  if (!model.graphBuilt) throw new Error(`Graft exportOnnx: model '${model.name}' is not built yet (call it once or give an input shape)`);
  const info = importedModelInfo(model);
  const e = new OnnxEmitter(model.name);
  const inputs = model.inputs.map((t, i) => {
    const nchw = layout === 'NCHW' && t.shape.length === 4;
    const name = e.fresh(info?.inputs[i]?.name ?? t.name);
    e.g.input(name, 'float32', onnxDims(t.shape, nchw));
    return nchw ? { shape: t.shape, nchw: name } : { shape: t.shape, nhwc: name };
  });
  const outputs = await emitGraph(e, model, inputs, '');
  outputs.forEach((v, i) => {
    const nchw = layout === 'NCHW' && v.shape.length === 4;
    const name = e.fresh(info?.outputs[i]?.name ?? model.outputs[i]!.name);
    e.g.node('Identity', [nchw ? e.nchw(v, name) : e.nhwc(v, name)], [name], {}, e.fresh(`${name}_output`));
    e.g.output(name, 'float32', onnxDims(v.shape, nchw));
  });
  return encodeModel(e.g, { opsets: [{ domain: '', version: opset }], producerName: 'graft', producerVersion: '0.1.0' });
}

/** Writes the model as an ONNX file (atomically; in a browser, to OPFS). */
export async function exportOnnx(model: Functional, path: string, options: ExportOptions = {}): Promise<void> {
  await platform().files.writeFileAtomic(path, await exportOnnxBytes(model, options));
}
