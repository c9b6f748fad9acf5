// Checkpoints on safetensors: weights named by layer path; model files that add the architecture (getConfig),
// compile config, optimizer slots, epochs done and the random stream, so that training resumes exactly.

import { tensor, type Tensor } from '../tensor/tensor.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import { getRngState, setRngState } from '../nn/random.js';
import { deserializeLayer } from '../nn/registry.js';
import type { Functional } from '../nn/functional.js';
import { isLossScaleSlot, LossScaleOptimizer, optimizerFromConfig } from './optimizers/index.js';
import type { TrainingModel } from './training-model.js';
import { getLoss, type LossName } from './losses.js';
import { getMetric, type MetricName } from './metrics.js';
// NOTE: imported for their layer registrations, so loadModel can rebuild any model (augmentation layers, ONNX imports).
import '../nn/index.js';
import '../io/onnx/layers/index.js';
import { readBytes, sourceLabel, type ByteSource } from '../io/bytes.js';
import {
  decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type SafetensorsEntry, type SafetensorsFile,
} from '../io/safetensors.js';
import { platform } from '../platform/platform.js';
import { isHdf5, loadKerasWeights, type KerasLoadOptions } from '../io/h5/index.js';

/** Tensors under this prefix are optimizer slots, not weights. */
const OPT_PREFIX = '__optimizer__/';
const FORMAT = 'graft.model.v1';

/** What a checkpoint says about training progress. */
export interface CheckpointInfo {
  /** Epochs completed when it was written: pass as `initialEpoch` to continue. */
  epoch: number;
  /** Optimizer steps applied, or 0 when the file holds no optimizer state. */
  iterations: number;
}

interface TrainingMeta {
  epochsDone: number;
  rngState: number;
}

interface CompileMeta {
  optimizer: Record<string, unknown>;
  loss: { name: LossName; fromLogits: boolean };
  metrics: string[];
}

async function weightEntries(model: Functional): Promise<SafetensorsEntry[]> {
  const named = [...model.namedWeights()];
  const datas = await Promise.all(named.map(([, v]) => v.read()));
  return named.map(([name, v], i) => ({ name, shape: v.shape, dtype: 'F32', data: datas[i]! }));
}

/** Writes the model's weights (atomically). */
export async function saveWeightsOf(model: Functional, path: string): Promise<void> {
  await writeSafetensors(path, await weightEntries(model), { format: 'graft.weights.v1' });
}

/** Checks that the file has exactly the model's weights with the same shapes, then writes them. */
function applyWeights(model: Functional, file: SafetensorsFile, path: string, what: string): void {
  const named = model.namedWeights();
  for (const [name, v] of named) {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`Graft ${what}: weight '${name}' of model '${model.name}' is missing from ${path}`);
    if (!shapesEqual(t.shape, v.shape)) {
      throw new Error(`Graft ${what}: weight '${name}' has shape ${formatShape(v.shape)} in model '${model.name}' but ${formatShape(t.shape)} in ${path}`);
    }
    if (!(t.data instanceof Float32Array)) throw new Error(`Graft ${what}: weight '${name}' in ${path} is ${t.dtype}, expected F32`);
  }
  for (const name of file.tensors.keys()) {
    if (!name.startsWith(OPT_PREFIX) && !named.has(name)) {
      throw new Error(`Graft ${what}: ${path} has weight '${name}', which model '${model.name}' does not have`);
    }
  }
  for (const [name, v] of named) v.write(file.tensors.get(name)!.data as Float32Array);
}

/**
 * Loads weights saved by saveWeights or save into a model of the same architecture, or Keras 2 `.h5` weights by
 * layer name (byName and skipMismatch as in Keras apply to those). `source`: a path, URL, Blob or bytes.
 */
export async function loadWeightsInto(model: Functional, source: ByteSource, options: KerasLoadOptions = {}): Promise<void> {
  const label = sourceLabel(source);
  const bytes = await readBytes(source, { what: 'loadWeights' });
  // NOTE: the file's signature, not its name, tells Keras HDF5 from safetensors.
  if (isHdf5(bytes)) {
    await loadKerasWeights(model, bytes, label, options);
    return;
  }
  if (options.byName || options.skipMismatch) throw new Error(`Graft loadWeights: byName and skipMismatch apply to Keras .h5 files; ${label} is not one`);
  applyWeights(model, decodeSafetensors(bytes, label), label, 'loadWeights');
}

/** Writes architecture, weights, compile config, optimizer state, epochs done and the random stream (atomically). */
export async function saveModel(model: TrainingModel, path: string): Promise<void> {
  await platform().files.writeFileAtomic(path, await encodeModel(model, path));
}

/** The model file that saveModel writes, as bytes (a download in a browser, a buffer to send). */
export async function encodeModel(model: TrainingModel, label = 'model'): Promise<Uint8Array> {
  const { entries, metadata } = await checkpointContents(model);
  return encodeSafetensors(entries, metadata, label);
}

/** What save() writes, as safetensors entries and metadata: architecture, weights, compile config, optimizer state, epochs done, the random stream. */
export async function checkpointContents(model: TrainingModel): Promise<{ entries: SafetensorsEntry[]; metadata: Record<string, string> }> {
  const entries = await weightEntries(model);
  const metadata: Record<string, string> = {
    format: FORMAT,
    config: JSON.stringify({ className: model.className, config: model.getConfig() }),
    training: JSON.stringify({ epochsDone: model.epochsDone, rngState: getRngState() } satisfies TrainingMeta),
  };
  const c = model.compiled;
  if (c) {
    const state = c.optimizer.getState();
    const keys = Object.keys(state.slots);
    const datas = await Promise.all(keys.map((k) => state.slots[k]!.data()));
    keys.forEach((k, i) => entries.push({ name: OPT_PREFIX + k, shape: state.slots[k]!.shape, dtype: 'F32', data: datas[i]! }));
    const meta: CompileMeta = {
      optimizer: { ...c.optimizer.getConfig(), iterations: state.iterations },
      loss: { name: c.loss.name, fromLogits: c.loss.fromLogits },
      metrics: c.metrics.map((m) => m.name),
    };
    metadata.compile = JSON.stringify(meta);
  }
  return { entries, metadata };
}

function parseMeta<T>(file: SafetensorsFile, key: string, path: string): T | null {
  const raw = file.metadata[key];
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new Error(`Graft: ${path} has unreadable '${key}' metadata`);
  }
}

/** Copies the saved optimizer slots and step count into the model's compiled optimizer. */
function applyOptimizerState(model: TrainingModel, file: SafetensorsFile, meta: CompileMeta | null): number {
  const c = model.compiled;
  if (!c || !meta) return 0;
  const iterations = Number(meta.optimizer.iterations ?? 0);
  const slots: Record<string, Tensor> = {};
  const scaled = c.optimizer instanceof LossScaleOptimizer;
  for (const [name, t] of file.tensors) {
    if (!name.startsWith(OPT_PREFIX)) continue;
    const key = name.slice(OPT_PREFIX.length);
    // NOTE: a mixed model's loss scale means nothing to a float32 model's optimizer: it is left out, not an error.
    if (isLossScaleSlot(key) && !scaled) continue;
    slots[key] = tensor(t.data as Float32Array, t.shape);
  }
  try {
    c.optimizer.setState({ iterations, slots });
  } finally {
    for (const t of Object.values(slots)) t.dispose();
  }
  return iterations;
}

function applyTraining(model: TrainingModel, file: SafetensorsFile, path: string): number {
  const t = parseMeta<TrainingMeta>(file, 'training', path);
  if (!t) return 0;
  model.epochsDone = t.epochsDone;
  setRngState(t.rngState);
  return t.epochsDone;
}

/**
 * Restores a file written by save() into a model built by code: weights, and when the model is compiled, the
 * optimizer state; also epochs done and the random stream. Returns the epoch to pass as initialEpoch.
 */
export async function loadCheckpointInto(model: TrainingModel, source: ByteSource): Promise<CheckpointInfo> {
  return restoreCheckpoint(model, await readSafetensors(source), sourceLabel(source));
}

/** loadCheckpointInto for a file already decoded (e.g. from bytes); `label` names it in errors. */
export function restoreCheckpoint(model: TrainingModel, file: SafetensorsFile, label: string): CheckpointInfo {
  applyWeights(model, file, label, 'loadCheckpoint');
  const iterations = applyOptimizerState(model, file, parseMeta<CompileMeta>(file, 'compile', label));
  return { epoch: applyTraining(model, file, label), iterations };
}

/**
 * Rebuilds a model saved with save() without the code that made it: architecture, weights, compile state.
 * `source`: a path (Node's file system, OPFS in a browser), a URL, a Blob/File, a Response or the bytes.
 */
export async function restoreModel(source: ByteSource): Promise<TrainingModel> {
  const file = await readSafetensors(source);
  const path = sourceLabel(source);
  if (file.metadata.format !== FORMAT) {
    throw new Error(`Graft loadModel: ${path} is not a Graft model file (format '${file.metadata.format ?? 'none'}'); weights-only files load with model.loadWeights()`);
  }
  let model: TrainingModel | null = null;
  try {
    const spec = parseMeta<{ className: string; config: Record<string, unknown> }>(file, 'config', path);
    if (!spec || typeof spec !== 'object' || typeof spec.className !== 'string') throw new Error("its 'config' metadata does not describe a layer");
    model = deserializeLayer(spec) as TrainingModel;
    if (typeof (model as Partial<TrainingModel>).compile !== 'function') throw new Error(`it holds a ${spec.className}, not a model`);
    applyWeights(model, file, path, 'loadModel');
    const meta = parseMeta<CompileMeta>(file, 'compile', path);
    if (meta) {
      if (typeof meta !== 'object' || typeof meta.loss?.name !== 'string' || !Array.isArray(meta.metrics) || typeof meta.optimizer !== 'object') {
        throw new Error("its 'compile' metadata is not a compile config (optimizer, loss, metrics)");
      }
      const loss = getLoss(meta.loss.name, { fromLogits: meta.loss.fromLogits });
      const lossName = loss.name;
      const metrics = meta.metrics.filter((name) => {
        try {
          getMetric(name as MetricName, lossName);
          return true;
        } catch {
          console.warn(`Graft loadModel: metric '${name}' is not a built-in metric; compile again to use it`);
          return false;
        }
      });
      model.compile({ optimizer: optimizerFromConfig(meta.optimizer), loss, metrics: metrics as MetricName[] });
      applyOptimizerState(model, file, meta);
    }
    applyTraining(model, file, path);
    return model;
  } catch (e) {
    model?.dispose();
    // NOTE: a corrupt config fails deep inside a layer or optimizer constructor; say which file it came from.
    const message = (e as Error)?.message ?? String(e);
    throw new Error(message.includes(path) ? message : `Graft loadModel: ${path}: ${message.replace(/^Graft /, '')}`);
  }
}
