// Loads Keras 2 HDF5 weights into a Graft model by layer name (Graft builds Keras' architectures with Keras' layer
// names), with Keras' `by_name` and `skip_mismatch`. Every check runs before the first weight is written, so a file
// that does not fit leaves the model as it was.
// Porting note: Keras' default (by_name=False) pairs layers by order; Graft pairs them by name and requires the same
// set of weighted layers, which loads the same weights wherever the names agree and names the layer where not.

import { formatShape, shapesEqual } from '../../tensor/shape.js';
import type { Variable } from '../../nn/variable.js';
import { readKerasWeights, type KerasLayerInfo, type KerasWeightInfo } from './keras-weights.js';

/** Keras' load_weights arguments. */
export interface KerasLoadOptions {
  /**
   * Keras' by_name: load the file's layers whose names the model has and leave the model's other layers as they
   * are. Default false: the model's weighted layers and the file's must be the same set, weight for weight.
   */
  byName?: boolean;
  /** With byName only: skip, with a warning, a layer whose weights differ and a weight whose shape differs. */
  skipMismatch?: boolean;
}

/** What was loaded. */
export interface KerasLoadReport {
  /** Layers whose weights were written (in the file's order). */
  loaded: string[];
  /** One sentence per layer or weight skipped by skipMismatch. */
  skipped: string[];
}

/** What loading needs from a model: its name and its weights keyed by layer path (`stem_conv/kernel`). */
export interface WeightsTarget {
  readonly name: string;
  namedWeights(): Map<string, Variable>;
}

/** The model's weights grouped by top-level layer: layer -> path below it -> variable. */
function modelLayers(model: WeightsTarget): Map<string, Map<string, Variable>> {
  const out = new Map<string, Map<string, Variable>>();
  for (const [key, v] of model.namedWeights()) {
    const cut = key.indexOf('/');
    const layer = cut < 0 ? key : key.slice(0, cut);
    if (!out.has(layer)) out.set(layer, new Map());
    out.get(layer)!.set(cut < 0 ? key : key.slice(cut + 1), v);
  }
  return out;
}

const listed = (names: string[], max = 8) =>
  names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, ... (${names.length} in all)`;

/** Why a file layer's weights do not fit the model layer's (missing or extra weights), or null when they do. */
function weightSetProblem(fl: KerasLayerInfo, mw: Map<string, Variable>, model: string, label: string): string | null {
  const filePaths = new Set(fl.weights.map((w) => w.path));
  for (const [path, v] of mw) {
    if (!filePaths.has(path)) {
      return `layer '${fl.name}': weight '${path}' ${formatShape(v.shape)} of model '${model}' is missing from ${label}, which has ${fl.weights.map((w) => `'${w.path}' ${formatShape(w.shape)}`).join(', ')}`;
    }
  }
  const extra = fl.weights.find((w) => !mw.has(w.path));
  if (extra) {
    return `layer '${fl.name}': ${label} has weight '${extra.name}' ${formatShape(extra.shape)}, which layer '${fl.name}' of model '${model}' does not have (it has ${[...mw.keys()].map((k) => `'${k}'`).join(', ')})`;
  }
  return null;
}

/**
 * Writes the weights of a Keras 2 `.h5` file (given as bytes; `label` names it in errors) into `model`, matched by
 * layer name, after checking every layer, weight and shape. Throws an Error naming the layer and both shapes on
 * the first mismatch (unless byName + skipMismatch skip it).
 */
export async function loadKerasWeights(model: WeightsTarget, bytes: Uint8Array, label: string, options: KerasLoadOptions = {}): Promise<KerasLoadReport> {
  const byName = options.byName ?? false;
  const skip = options.skipMismatch ?? false;
  const fail = (problem: string): never => {
    throw new Error(`Graft loadWeights: ${problem}`);
  };
  if (skip && !byName) fail('skipMismatch applies only with byName: true (as in Keras)');
  const layers = modelLayers(model);
  return readKerasWeights(bytes, label, (index, read) => {
    const fileLayers = new Map(index.layers.map((l) => [l.name, l]));
    if (!byName) {
      for (const name of layers.keys()) {
        if (!fileLayers.has(name)) {
          fail(`layer '${name}' of model '${model.name}' has no weights in ${label} (its layers with weights: ${listed([...fileLayers.keys()])}); pass byName: true to load only the layers both have`);
        }
      }
      for (const name of fileLayers.keys()) {
        if (!layers.has(name)) fail(`${label} has weights for layer '${name}', which model '${model.name}' does not have; pass byName: true to load only the layers both have`);
      }
    }
    const report: KerasLoadReport = { loaded: [], skipped: [] };
    const skipped = (why: string) => {
      console.warn(`Graft loadWeights: skipping ${why}`);
      report.skipped.push(why);
    };
    const plan: { v: Variable; layer: string; w: KerasWeightInfo }[] = [];
    for (const fl of index.layers) {
      const mw = layers.get(fl.name);
      if (!mw) continue;
      const problem = weightSetProblem(fl, mw, model.name, label);
      if (problem) {
        if (!skip) fail(problem);
        skipped(problem);
        continue;
      }
      let any = false;
      for (const w of fl.weights) {
        const v = mw.get(w.path)!;
        if (!shapesEqual(v.shape, w.shape)) {
          const why = `layer '${fl.name}': weight '${w.path}' has shape ${formatShape(v.shape)} in model '${model.name}' but ${formatShape(w.shape)} in ${label}`;
          if (!skip) fail(why);
          skipped(why);
          continue;
        }
        plan.push({ v, layer: fl.name, w });
        any = true;
      }
      if (any) report.loaded.push(fl.name);
    }
    if (plan.length === 0 && report.skipped.length === 0) {
      fail(`no layer of ${label} (${listed([...fileLayers.keys()])}) is a layer of model '${model.name}' (${listed([...layers.keys()])})`);
    }
    for (const { v, layer, w } of plan) v.write(read(layer, w));
    return report;
  });
}
