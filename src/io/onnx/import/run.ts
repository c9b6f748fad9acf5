// Running an imported model on host arrays in the ONNX file's layout (NCHW in, NCHW out for NCHW files): the
// conversion to and from Graft's layout happens here, batch by batch.

import { noGrad, tidy } from '../../../tensor/engine.js';
import { tensor, type Tensor } from '../../../tensor/tensor.js';
import type { Functional } from '../../../nn/functional.js';
import { importedModelInfo } from './importer.js';
import { transposeValues } from './perm.js';

/** A float32 array on the host, row-major. */
export interface HostArray {
  /** Its shape. */
  shape: number[];
  /** Its values. */
  data: Float32Array;
}

/** Options of runImported. */
export interface RunImportedOptions {
  /** Examples per GPU run; default: all at once. */
  batchSize?: number;
}

function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Rows [from, to) of a batch-first array. */
function rows(a: HostArray, from: number, to: number): HostArray {
  const per = a.shape.slice(1).reduce((p, d) => p * d, 1);
  return { shape: [to - from, ...a.shape.slice(1)], data: a.data.subarray(from * per, to * per) };
}

/**
 * Runs a model made by importOnnx on inputs in ONNX order and layout (one per model input, same batch size);
 * returns every output in ONNX order and layout.
 */
export async function runImported(model: Functional, inputs: HostArray[], options: RunImportedOptions = {}): Promise<HostArray[]> {
  const info = importedModelInfo(model);
  if (!info) throw new Error(`Graft runImported: model '${model.name}' was not made by importOnnx`);
  if (inputs.length !== info.inputs.length) {
    throw new Error(`Graft runImported: model '${model.name}' has ${info.inputs.length} inputs (${info.inputs.map((i) => i.name).join(', ')}), got ${inputs.length} arrays`);
  }
  inputs.forEach((a, k) => {
    const rank = info.inputs[k]!.perm.length;
    if (a.shape.length !== rank) throw new Error(`Graft runImported: input '${info.inputs[k]!.name}' has rank ${rank}, got an array of shape [${a.shape.join(',')}]`);
    if (a.shape.reduce((p, d) => p * d, 1) !== a.data.length) throw new Error(`Graft runImported: shape [${a.shape.join(',')}] does not match ${a.data.length} values`);
  });
  const n = inputs[0]!.shape[0]!;
  if (inputs.some((a) => a.shape[0] !== n)) throw new Error('Graft runImported: inputs differ in batch size');
  const step = Math.max(1, options.batchSize ?? n);
  const parts: HostArray[][] = [];
  for (let from = 0; from < n; from += step) {
    const chunk = inputs.map((a) => rows(a, from, Math.min(n, from + step)));
    const outs = noGrad(() => tidy(() => {
      const xs = chunk.map((a, k) => {
        const perm = info.inputs[k]!.perm;
        return tensor(transposeValues(a.data, a.shape, perm), perm.map((p) => a.shape[p]!));
      });
      const y = model.applyAll(xs.length === 1 ? xs[0]! : xs);
      return Array.isArray(y) ? y : [y];
    })) as Tensor[];
    const host: HostArray[] = [];
    // NOTE: two outputs may be the same tensor (an output that is a free transpose or an identity of another).
    const read = new Map<Tensor, Float32Array>();
    for (const [k, t] of outs.entries()) {
      const data = read.get(t) ?? ((await t.data()) as Float32Array);
      read.set(t, data);
      const inv = inverse(info.outputs[k]!.perm);
      host.push({ shape: inv.map((p) => t.shape[p]!), data: transposeValues(data, t.shape, inv) });
    }
    for (const t of read.keys()) t.dispose();
    parts.push(host);
  }
  return parts[0]!.map((first, k) => {
    if (parts.length === 1) return first;
    const data = new Float32Array(parts.reduce((s, p) => s + p[k]!.data.length, 0));
    let at = 0;
    for (const p of parts) (data.set(p[k]!.data, at), (at += p[k]!.data.length));
    return { shape: [n, ...first.shape.slice(1)], data };
  });
}
