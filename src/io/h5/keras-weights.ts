// Keras 2 HDF5 weights (`model.save_weights('x.h5')`, keras.applications' files, and whole-model `.h5` files whose
// weights sit under `model_weights/`): root attribute `layer_names`, one group per layer with attribute
// `weight_names`, and each weight stored as dataset `<layer>/<weight name>` (e.g. `stem_conv/stem_conv/kernel:0`).

import type { Group } from 'h5wasm';
import {
  childGroup, datasetAt, datasetInfo, Hdf5Error, readFloat32, stringAttribute, stringListAttribute, withHdf5,
} from './hdf5.js';

/** One weight of a layer in the file, known from its header only. */
export interface KerasWeightInfo {
  /** Keras' name, e.g. `stem_conv/kernel:0`. */
  name: string;
  /** The path below the layer as Graft names it: `kernel`, or `stem_conv/kernel` inside a nested model. */
  path: string;
  shape: number[];
}

/** A layer of the file that has weights. */
export interface KerasLayerInfo {
  name: string;
  /** Its weights in the file's order. */
  weights: KerasWeightInfo[];
}

/** What a Keras weights file holds, read without touching the values. */
export interface KerasWeightsIndex {
  /** All layer names in the file's order, weightless layers included. */
  layerNames: string[];
  /** The layers with weights, in the file's order. */
  layers: KerasLayerInfo[];
  /** The `keras_version` and `backend` attributes when present. */
  kerasVersion: string | null;
  backend: string | null;
}

/** Reads one weight's values (float32) once the caller has checked its shape against the index. */
export type KerasWeightReader = (layer: string, weight: KerasWeightInfo) => Float32Array;

/** Keras' h5 attributes over 64 KiB are split into `name0`, `name1`, ...; this joins them. */
function listAttribute(g: Group, name: string, label: string): string[] | null {
  const whole = stringListAttribute(g, name, label);
  if (whole) return whole;
  const parts: string[] = [];
  for (let i = 0; ; i++) {
    const chunk = stringListAttribute(g, `${name}${i}`, label);
    if (!chunk) return i === 0 ? null : parts;
    parts.push(...chunk);
  }
}

/** The group holding `layer_names`: the root of a weights file, or `model_weights` of a whole-model file. */
function weightsRoot(root: Group, label: string): Group {
  if (root.attrs.layer_names || root.attrs.layer_names0) return root;
  const mw = childGroup(root, 'model_weights');
  if (mw && (mw.attrs.layer_names || mw.attrs.layer_names0)) return mw;
  const keys = root.keys();
  if (keys.includes('layers') || keys.includes('vars')) {
    throw new Hdf5Error(label, "is in Keras 3's .weights.h5 layout (groups 'layers/.../vars'); Graft reads Keras 2 HDF5 weights (attribute 'layer_names')");
  }
  throw new Hdf5Error(label, "is not a Keras weights file: no 'layer_names' attribute at its root or under 'model_weights'");
}

/** The path of a weight below its layer: Keras names a plain layer's weights `<layer>/<weight>:0`. */
function pathInLayer(layer: string, weightName: string): string {
  const bare = weightName.replace(/:\d+$/, '');
  return bare.startsWith(`${layer}/`) ? bare.slice(layer.length + 1) : bare;
}

function indexOf(g: Group, label: string, fileBytes: number): KerasWeightsIndex {
  const layerNames = listAttribute(g, 'layer_names', label) ?? [];
  const seen = new Set<string>();
  const layers: KerasLayerInfo[] = [];
  for (const layer of layerNames) {
    if (seen.has(layer)) throw new Hdf5Error(label, `lists layer '${layer}' twice in 'layer_names'`);
    seen.add(layer);
    const lg = childGroup(g, layer);
    if (!lg) throw new Hdf5Error(label, `lists layer '${layer}' in 'layer_names' but has no group for it`);
    const names = listAttribute(lg, 'weight_names', label) ?? [];
    if (names.length === 0) continue;
    const weights = names.map((name): KerasWeightInfo => {
      const d = datasetAt(lg, name);
      if (!d) throw new Hdf5Error(label, `layer '${layer}' lists weight '${name}' but has no dataset '${layer}/${name}'`);
      return { name, path: pathInLayer(layer, name), shape: datasetInfo(d, label, fileBytes).shape };
    });
    layers.push({ name: layer, weights });
  }
  return { layerNames, layers, kerasVersion: stringAttribute(g, 'keras_version'), backend: stringAttribute(g, 'backend') };
}

/**
 * Opens a Keras 2 weights file from its bytes, gives `fn` its index and a reader for the values, and closes it.
 * Every dataset's element type and size are checked before its values are read: Keras never compresses weights,
 * so no dataset may declare more bytes than the file has.
 */
export function readKerasWeights<T>(bytes: Uint8Array, label: string, fn: (index: KerasWeightsIndex, read: KerasWeightReader) => T): Promise<T> {
  return withHdf5(bytes, label, (root) => {
    const g = weightsRoot(root, label);
    const read: KerasWeightReader = (layer, weight) => {
      const d = datasetAt(g, `${layer}/${weight.name}`);
      if (!d) throw new Hdf5Error(label, `has no dataset '${layer}/${weight.name}'`);
      datasetInfo(d, label, bytes.length);
      return readFloat32(d, label);
    };
    return fn(indexOf(g, label, bytes.length), read);
  });
}
