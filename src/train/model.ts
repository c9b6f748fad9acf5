// Model: a Functional graph with the Keras training API (compile, fit, evaluate, predict) and saving.

import { callInSlices } from './micro-batch.js';
import { concat } from '../ops/index.js';
import { noGrad, tidy, keep } from '../tensor/engine.js';
import type { Tensor } from '../tensor/tensor.js';
import { Functional, type FunctionalArgs, type SequentialArgs } from '../nn/functional.js';
import type { Layer } from '../nn/layer.js';
import { registerLayer } from '../nn/registry.js';
import type { Variable } from '../nn/variable.js';
import { adam, adamw, LossScaleOptimizer, sgd, type Optimizer } from './optimizers/index.js';
import { getLoss, type Loss, type LossName } from './losses.js';
import { getMetric, type Metric, type MetricName } from './metrics.js';
import type { CompileArgs, CompiledState, TrainingModel } from './training-model.js';

export type { CompileArgs };
import type { History, Logs } from './callbacks/callback.js';
import { isDataset, TensorSource, type Dataset } from './data-adapter.js';
import { runEvaluation, runFit, sourceOf, type EvaluateArgs, type FitArgs } from './fit-loop.js';
import {
  encodeModel, loadCheckpointInto, loadWeightsInto, restoreModel, saveModel, saveWeightsOf, type CheckpointInfo,
} from './checkpoint.js';
import type { ByteSource } from '../io/bytes.js';
import { exportOnnx, exportOnnxBytes, type ExportOptions } from '../io/onnx/export.js';
import type { KerasLoadOptions } from '../io/h5/index.js';


/** Options of predict(). */
export interface PredictArgs {
  /** Default 32. */
  batchSize?: number;
  /** Batches to run (datasets; default all). */
  steps?: number;
}

/** A Functional model with compile/fit/evaluate/predict/save (Keras `Model`). */
export class Model extends Functional implements TrainingModel {
  static override readonly className: string = 'Functional';
  /** Set to true (e.g. by a callback) to stop fit after the current batch. */
  stopTraining = false;
  /** The History of the last fit. */
  history: History | null = null;
  /** Epochs completed by fit (saved in checkpoints, so a resumed fit knows its initialEpoch). */
  epochsDone = 0;
  private compiledState: CompiledState | null = null;
  private compileArgs: CompileArgs | null = null;
  private warnedStale = false;

  constructor(args: FunctionalArgs | SequentialArgs) {
    super(args);
  }

  /** The compiled optimizer (null before compile). */
  get optimizer(): Optimizer | null {
    return this.compiledState?.optimizer ?? null;
  }

  /** What compile() fixed, or null. */
  get compiled(): CompiledState | null {
    return this.compiledState;
  }

  /** The arguments of the last compile (saved with the model). */
  get compileConfig(): CompileArgs | null {
    return this.compileArgs;
  }

  /**
   * Fixes the optimizer, loss, metrics and the set of trainable weights; a later change of `trainable` takes effect
   * at the next compile (as in Keras). When any layer computes in mixed_float16, the optimizer is wrapped in a
   * LossScaleOptimizer (as Keras does) unless `autoScaleLoss` is false or it already is one.
   */
  compile(args: CompileArgs): void {
    const loss = getLoss(args.loss);
    let optimizer = typeof args.optimizer === 'string' ? namedOptimizer(args.optimizer) : args.optimizer;
    if ((args.autoScaleLoss ?? true) && hasMixedLayers(this) && !(optimizer instanceof LossScaleOptimizer)) {
      optimizer = lossScaled(optimizer);
    }
    const metrics = (args.metrics ?? []).map((m) => getMetric(m, loss.name));
    this.compiledState = { loss, metrics, optimizer, trainable: this.trainableWithNames() };
    this.compileArgs = { ...args, optimizer };
    this.warnedStale = false;
  }

  /** The trainable weights now, with their path names. */
  private trainableWithNames(): { variable: Variable; name: string }[] {
    const names = new Map<Variable, string>();
    for (const [k, v] of this.namedWeights()) names.set(v, k);
    return this.trainableWeights.map((variable) => ({ variable, name: names.get(variable)! }));
  }

  private requireCompiled(what: string): CompiledState {
    if (!this.compiledState) throw new Error(`Graft ${what}: call compile() first`);
    return this.compiledState;
  }

  /** Warns once when `trainable` flags changed since compile (Keras keeps the compiled set until recompiled). */
  private checkStale(c: CompiledState): void {
    if (this.warnedStale) return;
    const now = new Set(this.trainableWeights);
    const then = new Set(c.trainable.map((t) => t.variable));
    if (now.size === then.size && [...now].every((v) => then.has(v))) return;
    this.warnedStale = true;
    console.warn(
      `Graft fit: model '${this.name}' has ${now.size} trainable weights but was compiled with ${then.size}; ` +
        'a change of `trainable` takes effect at the next compile(), so training uses the compiled set',
    );
  }

  /** Trains on (x, y) tensors or on a dataset of {x, y} batches. */
  fit(x: Tensor, y: Tensor, args?: FitArgs): Promise<History>;
  fit(dataset: Dataset, args?: FitArgs): Promise<History>;
  async fit(x: Tensor | Dataset, yOrArgs?: Tensor | FitArgs, maybeArgs?: FitArgs): Promise<History> {
    const c = this.requireCompiled('fit');
    const [y, args] = splitArgs<FitArgs>(x, yOrArgs, maybeArgs);
    this.checkStale(c);
    const source = sourceOf('fit', x, y, args.batchSize ?? 32, args.shuffle ?? true, args.stepsPerEpoch);
    return runFit(this, c, source, args);
  }

  /**
   * Loss and metrics in inference mode.
   * Porting note: returns the logs as a record ({loss, accuracy}), like Keras' return_dict=True.
   */
  evaluate(x: Tensor, y: Tensor, args?: EvaluateArgs): Promise<Logs>;
  evaluate(dataset: Dataset, args?: EvaluateArgs): Promise<Logs>;
  async evaluate(x: Tensor | Dataset, yOrArgs?: Tensor | EvaluateArgs, maybeArgs?: EvaluateArgs): Promise<Logs> {
    const c = this.requireCompiled('evaluate');
    const [y, args] = splitArgs<EvaluateArgs>(x, yOrArgs, maybeArgs);
    const source = sourceOf('evaluate', x, y, args.batchSize ?? 32, false, args.steps);
    return runEvaluation(this, c, source, args.steps);
  }

  /** Outputs for every example of x (or every batch of a dataset), concatenated. */
  async predict(x: Tensor | Dataset, args: PredictArgs = {}): Promise<Tensor> {
    const parts: Tensor[] = [];
    const run = (input: Tensor) => {
      const out = callInSlices(this, input, `predict on model '${this.name}'`);
      if (Array.isArray(out)) throw new Error(`Graft predict: model '${this.name}' has ${out.length} outputs; call it directly`);
      parts.push(out);
    };
    if (isDataset(x)) {
      let n = 0;
      for await (const b of x) {
        run(b.x);
        b.x.dispose();
        b.y?.dispose();
        if (args.steps !== undefined && ++n >= args.steps) break;
      }
    } else {
      for (const b of new TensorSource(x, null, args.batchSize ?? 32, false).inputs()) {
        run(b);
        b.dispose();
      }
    }
    if (parts.length === 0) throw new Error('Graft predict: no input batches');
    if (parts.length === 1) return keep(parts[0]!);
    const out = noGrad(() => concat(parts, 0));
    for (const p of parts) p.dispose();
    return keep(out);
  }

  /** Writes every weight, named by layer path, to a safetensors file (atomically). */
  saveWeights(path: string): Promise<void> {
    return saveWeightsOf(this, path);
  }

  /**
   * Loads weights saved by saveWeights/save from a path, URL, Blob or bytes (every name and shape must match; the
   * first mismatch is named), or a Keras 2 `.h5` weights file matched by layer name, with Keras' `byName` and
   * `skipMismatch`.
   */
  loadWeights(source: ByteSource, options: KerasLoadOptions = {}): Promise<void> {
    return loadWeightsInto(this, source, options);
  }

  /**
   * Writes the whole model to one self-describing safetensors file: architecture (getConfig), weights, the compile
   * config, optimizer state, epochs done and the random stream, so that loadModel() can resume training exactly.
   */
  save(path: string): Promise<void> {
    return saveModel(this, path);
  }

  /** The file that save() writes, as bytes (for a download, an upload or IndexedDB). */
  saveBytes(): Promise<Uint8Array> {
    return encodeModel(this, this.name);
  }

  /** Writes this model as ONNX (NHWC or NCHW input) that onnxruntime runs with the same outputs. */
  exportOnnx(path: string, options: ExportOptions = {}): Promise<void> {
    return exportOnnx(this, path, options);
  }

  /** This model as ONNX bytes (see exportOnnx). */
  exportOnnxBytes(options: ExportOptions = {}): Promise<Uint8Array> {
    return exportOnnxBytes(this, options);
  }

  /** Restores weights, optimizer state (when compiled) and the random stream from a file written by save(). */
  loadCheckpoint(source: ByteSource): Promise<CheckpointInfo> {
    return loadCheckpointInto(this, source);
  }

  override dispose(): void {
    super.dispose();
    const opt = this.compiledState?.optimizer as { dispose?: () => void } | undefined;
    opt?.dispose?.();
  }
}

const scaledBy = new WeakMap<Optimizer, LossScaleOptimizer>();

/** The LossScaleOptimizer around `inner`: one per optimizer, so a recompile keeps its scale (and frees nothing twice). */
function lossScaled(inner: Optimizer): LossScaleOptimizer {
  let w = scaledBy.get(inner);
  if (!w) scaledBy.set(inner, (w = new LossScaleOptimizer(inner)));
  return w;
}

/** Whether `layer` or any layer inside it has the mixed_float16 policy. */
function hasMixedLayers(layer: Layer): boolean {
  return layer.dtypePolicy.name === 'mixed_float16' || layer.sublayers.some(hasMixedLayers);
}

function namedOptimizer(name: 'sgd' | 'adam' | 'adamw'): Optimizer {
  switch (name) {
    case 'sgd':
      return sgd();
    case 'adam':
      return adam();
    case 'adamw':
      return adamw();
    default:
      throw new Error(`Graft compile: unknown optimizer '${name as string}' (sgd, adam, adamw)`);
  }
}

function splitArgs<A>(x: Tensor | Dataset, yOrArgs: Tensor | A | undefined, maybeArgs: A | undefined): [Tensor | undefined, A] {
  if (isDataset(x)) return [undefined, (yOrArgs as A | undefined) ?? ({} as A)];
  return [yOrArgs as Tensor | undefined, maybeArgs ?? ({} as A)];
}

/** A Sequential model: a list of layers, built when the input shape is known. */
export class Sequential extends Model {
  static override readonly className: string = 'Sequential';

  constructor(args: SequentialArgs = {}) {
    super(args);
  }

  /** Appends a layer. */
  add(layer: Layer): void {
    this.addLayer(layer);
  }
}

/**
 * Rebuilds a model saved with save() without the code that made it: architecture, weights, compile state.
 * `source`: a path (Node's file system, OPFS in a browser), a URL, a Blob/File, a Response or the bytes.
 */
export async function loadModel(source: ByteSource): Promise<Model> {
  const m = await restoreModel(source);
  if (!(m instanceof Model)) throw new Error(`Graft loadModel: the file holds a ${m.className}, not a Model`);
  return m;
}

/** `model({inputs, outputs})`: a functional model over symbolic tensors. */
export function model(args: FunctionalArgs): Model {
  return new Model(args);
}

/** `sequential([...layers])` or `sequential({layers, name})`. */
export function sequential(layers: Layer[] | SequentialArgs = []): Sequential {
  return new Sequential(Array.isArray(layers) ? { layers } : layers);
}

registerLayer(Model, 'Functional');
registerLayer(Sequential, 'Sequential');
