// Loading a trained image classifier for predict/evaluate: a Graft model file (model.save) or an ONNX file, its
// input size, its class names, and the pixel range it expects.

import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { loadModel } from '../../src/train/model.js';
import { importOnnx } from '../../src/api/import-onnx.js';
import type { Model } from '../../src/train/model.js';
import { readClassNames } from './class-names.js';
// NOTE: imported for its layer registrations (augmentation layers among them), so that loadModel can rebuild
// a classifier in a process that never built one.
import '../../src/nn/index.js';

/** Pixel ranges a model may take; images are decoded to 0..255 and mapped onto it. */
export type InputRange = '0..255' | '0..1' | '-1..1';

/** How to load and feed a classifier. */
export interface ClassifierOptions {
  /** A class-names file (JSON array or one per line) that overrides the model's own. */
  classes?: string;
  /** Square size to resize to when the model's input size is not fixed. */
  imageSize?: number;
  /** The pixel range the model takes (default '0..255'). */
  inputRange?: string;
}

/** A loaded classifier. */
export interface Classifier {
  model: Model;
  /** Input height and width. */
  height: number;
  width: number;
  /** Number of output classes. */
  classes: number;
  /** Class names, or null when neither the file nor a classes.json gives them. */
  classNames: string[] | null;
  /** pixel (0..255) -> model input: x * scale + offset. */
  scale: number;
  offset: number;
}

const RANGES: Record<InputRange, [number, number]> = { '0..255': [1, 0], '0..1': [1 / 255, 0], '-1..1': [1 / 127.5, -1] };

/** Loads a .safetensors model file or an .onnx model; throws one-line errors for user mistakes. */
export async function loadClassifier(path: string, o: ClassifierOptions = {}): Promise<Classifier> {
  if (!existsSync(path)) throw new Error(`model file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new Error(`--model must be a file, ${path} is a folder`);
  const range = (o.inputRange ?? '0..255') as InputRange;
  if (!(range in RANGES)) throw new Error(`--input-range must be 0..255, 0..1 or -1..1, got '${o.inputRange}'`);
  const ext = extname(path).toLowerCase();
  if (ext !== '.safetensors' && ext !== '.onnx') throw new Error(`unsupported model file ${path}: expected .safetensors (written by model.save) or .onnx`);
  const model = ext === '.onnx' ? importOnnx(path) : await loadModel(path);
  const inShape = model.inputs[0]!.shape;
  const outShape = model.outputs[0]!.shape;
  if (model.inputs.length !== 1 || inShape.length !== 4 || inShape[3] !== 3) {
    model.dispose();
    throw new Error(`${path} is not an image classifier: its input is [${inShape.map((d) => d ?? '?').join(', ')}], expected [batch, height, width, 3]`);
  }
  if (outShape.length !== 2 || outShape[1] === null) {
    model.dispose();
    throw new Error(`${path} is not a classifier: its output is [${outShape.map((d) => d ?? '?').join(', ')}], expected [batch, classes]`);
  }
  const size = o.imageSize;
  if (size !== undefined && !(Number.isInteger(size) && size > 0)) throw new Error(`--image-size must be a positive integer, got ${size}`);
  const height = inShape[1] ?? size;
  const width = inShape[2] ?? size;
  if (height === undefined || width === undefined) {
    model.dispose();
    throw new Error(`${path} does not fix its input size; give --image-size`);
  }
  const classes = outShape[1]!;
  const classNames = await readClassNames(path, o.classes);
  if (classNames && classNames.length !== classes) {
    model.dispose();
    throw new Error(`${classNames.length} class names for a model with ${classes} outputs (${o.classes ?? path})`);
  }
  const [scale, offset] = RANGES[range];
  return { model, height, width, classes, classNames, scale, offset };
}
