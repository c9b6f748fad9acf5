// imageDatasetFromDirectory (Keras' image_dataset_from_directory) and imageDatasetFromFiles (the same over File
// lists or URLs, for browsers): decoded, resized, shuffled, batched GPU tensors with one batch of prefetch.

import type { Device } from '../gpu/device.js';
import { getDevice } from '../tensor/engine.js';
import { fmix32, rng } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Dataset, type DatasetSource } from './dataset.js';
import type { ImageSource } from '../platform/platform.js';
import { checkInterpolation, decodeImage, imageLabel, type DecodeOptions } from './decode.js';
import { indexImageFolder } from './image-folder.js';

const OP = 'imageDatasetFromDirectory';

/** One batch: images and labels on the GPU. */
export interface ImageBatch {
  /** float32 [b, height, width, 3], RGB values in 0..255 (like Keras, no rescaling). */
  x: Tensor;
  /** 'int': int32 [b]; 'categorical': float32 one-hot [b, classes]; 'binary': float32 [b, 1]. */
  y: Tensor;
}

/** Label encodings, as Keras' label_mode. */
export type LabelMode = 'int' | 'categorical' | 'binary';

/** Options of imageDatasetFromDirectory; defaults follow Keras. */
export interface ImageDatasetOptions extends DecodeOptions {
  /** [height, width] every image is resized to (default [256, 256]). */
  imageSize?: readonly [number, number];
  /** Images per batch (default 32); the last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Label encoding (default 'int'). */
  labelMode?: LabelMode;
  /** Classes to use and their order (default: all subfolders, sorted). */
  classNames?: readonly string[];
  /** Shuffle the files once before the split and the order again every epoch (default true). */
  shuffle?: boolean;
  /** Seed of every shuffle; required with shuffle and validationSplit so that the subsets never overlap. */
  seed?: number;
  /** Fraction of the files held out for validation (the last ones after the seeded shuffle). */
  validationSplit?: number;
  /** Which side of validationSplit to return; 'both' returns [training, validation]. */
  subset?: 'training' | 'validation' | 'both';
  /** Descend into symbolically linked folders (default false). */
  followLinks?: boolean;
  /** Print Keras' "Found N files belonging to K classes." lines (default true). */
  verbose?: boolean;
  /** Device of the batches (default: the current device at iteration time). */
  device?: Device;
}

interface SourceConfig {
  height: number;
  width: number;
  batchSize: number;
  labelMode: LabelMode;
  shuffle: boolean;
  seed: number;
  decode: DecodeOptions;
  device: Device | undefined;
}

/** Batch contents on the CPU, before upload. */
interface CpuBatch {
  pixels: Float32Array;
  labels: number[];
}

const warned = new Set<string>();

function warnOnce(path: string, err: unknown): void {
  if (warned.has(path)) return;
  warned.add(path);
  console.warn(`Graft ${OP}: skipping unreadable image ${path} (${err instanceof Error ? err.message : String(err)})`);
}

/** A 32-bit seed for epoch `epoch` of a dataset seeded with `seed` (murmur3 finalizer). */
function epochSeed(seed: number, epoch: number): number {
  return fmix32((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
}

function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

class ImageBatchSource implements DatasetSource<ImageBatch> {
  epoch = 0;
  /** A name per image (its path, URL or file name), for messages and for callers that count or list them. */
  readonly filePaths: readonly string[];
  private readonly bad = new Set<number>();

  constructor(
    private readonly paths: readonly ImageSource[],
    private readonly labels: readonly number[],
    readonly classNames: readonly string[],
    private readonly cfg: SourceConfig,
    private readonly store: Map<number, Uint8Array> | null,
  ) {
    this.filePaths = paths.map(imageLabel);
  }

  get length(): number {
    return Math.ceil(this.paths.length / this.cfg.batchSize);
  }

  cached(): DatasetSource<ImageBatch> {
    const copy = new ImageBatchSource(this.paths, this.labels, this.classNames, this.cfg, new Map());
    copy.epoch = this.epoch;
    return copy;
  }

  private order(epoch: number): number[] {
    const idx = [...this.paths.keys()];
    return this.cfg.shuffle ? shuffleInPlace(idx, rng(epochSeed(this.cfg.seed, epoch))) : idx;
  }

  /** Decoded pixels of file i, or null (warned once) when it cannot be read. */
  private async pixels(i: number): Promise<Uint8Array | null> {
    const hit = this.store?.get(i);
    if (hit) return hit;
    if (this.bad.has(i)) return null;
    try {
      const p = await decodeImage(this.paths[i]!, this.cfg.height, this.cfg.width, this.cfg.decode);
      this.store?.set(i, p);
      return p;
    } catch (err) {
      this.bad.add(i);
      warnOnce(this.filePaths[i]!, err);
      return null;
    }
  }

  private async load(indices: number[]): Promise<CpuBatch> {
    const decoded = await Promise.all(indices.map((i) => this.pixels(i)));
    const per = this.cfg.height * this.cfg.width * 3;
    const good = decoded.flatMap((p, k) => (p ? [[p, this.labels[indices[k]!]!] as const] : []));
    const pixels = new Float32Array(good.length * per);
    // NOTE: TypedArray.set converts uint8 to float32 natively.
    good.forEach(([p], k) => pixels.set(p, k * per));
    return { pixels, labels: good.map(([, l]) => l) };
  }

  private upload(batch: CpuBatch): ImageBatch {
    const device = this.cfg.device ?? getDevice();
    const b = batch.labels.length;
    const x = new Tensor(device, [b, this.cfg.height, this.cfg.width, 3], 'float32');
    device.write(x.buffer, batch.pixels);
    const k = this.classNames.length;
    let y: Tensor;
    if (this.cfg.labelMode === 'int') {
      y = new Tensor(device, [b], 'int32');
      device.write(y.buffer, Int32Array.from(batch.labels));
    } else if (this.cfg.labelMode === 'binary') {
      y = new Tensor(device, [b, 1], 'float32');
      device.write(y.buffer, Float32Array.from(batch.labels));
    } else {
      const oneHot = new Float32Array(b * k);
      batch.labels.forEach((l, i) => (oneHot[i * k + l] = 1));
      y = new Tensor(device, [b, k], 'float32');
      device.write(y.buffer, oneHot);
    }
    return { x, y };
  }

  async *iterate(): AsyncGenerator<ImageBatch> {
    const order = this.order(this.epoch++);
    const bs = this.cfg.batchSize;
    const count = this.length;
    const slice = (b: number) => order.slice(b * bs, (b + 1) * bs);
    let next = count > 0 ? this.load(slice(0)) : null;
    try {
      for (let b = 0; b < count; b++) {
        const batch = await next!;
        // NOTE: the next batch decodes (in sharp's threads) while the consumer trains on this one.
        next = b + 1 < count ? this.load(slice(b + 1)) : null;
        // NOTE: unreadable images shrink their batch; a batch with none left is skipped.
        if (batch.labels.length > 0) yield this.upload(batch);
      }
    } finally {
      // NOTE: a consumer that stops early waits for the prefetch, so no decoding outlives the iterator.
      await next;
    }
  }
}

function checkOptions(op: string, o: ImageDatasetOptions): void {
  const [h, w] = o.imageSize ?? [256, 256];
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) {
    throw new Error(`Graft ${op}: imageSize must be two positive integers [height, width], got ${JSON.stringify(o.imageSize)}`);
  }
  const bs = o.batchSize ?? 32;
  if (!Number.isInteger(bs) || bs < 1) throw new Error(`Graft ${op}: batchSize must be a positive integer, got ${bs}`);
  if (o.labelMode && !['int', 'categorical', 'binary'].includes(o.labelMode)) {
    throw new Error(`Graft ${op}: labelMode must be 'int', 'categorical' or 'binary', got '${o.labelMode}'`);
  }
  checkInterpolation(OP, o.interpolation ?? 'bilinear');
  const split = o.validationSplit;
  if (split !== undefined && !(split > 0 && split < 1)) throw new Error(`Graft ${op}: validationSplit must be in (0, 1), got ${split}`);
  if ((split !== undefined) !== (o.subset !== undefined)) {
    throw new Error(`Graft ${op}: validationSplit and subset go together (got validationSplit ${split}, subset ${o.subset})`);
  }
  if (o.subset && !['training', 'validation', 'both'].includes(o.subset)) {
    throw new Error(`Graft ${op}: subset must be 'training', 'validation' or 'both', got '${o.subset}'`);
  }
  if (split !== undefined && (o.shuffle ?? true) && o.seed === undefined) {
    throw new Error(`Graft ${op}: validationSplit with shuffling needs a seed, so that training and validation never overlap`);
  }
}

/**
 * Builds a dataset of `{x, y}` batches from a class-folder tree (`dir/<class>/<images>`), like Keras'
 * image_dataset_from_directory: labels index the sorted class folder names; images are decoded, made RGB and resized
 * (stretched unless cropToAspectRatio or padToAspectRatio); x keeps 0..255 values. In a browser `dir` is an OPFS
 * folder (use imageDatasetFromFiles for picked files or URLs).
 * Unreadable or corrupt images are reported once by path and skipped. Throws naming the path when the folder is
 * missing or holds no images.
 * Porting note: shuffling is a full per-epoch permutation (tf.data uses a buffer of 8 batches), so the same seed
 * picks different files than Keras does.
 */
export function imageDatasetFromDirectory(dir: string, options: ImageDatasetOptions & { subset: 'both' }): Promise<[Dataset<ImageBatch>, Dataset<ImageBatch>]>;
export function imageDatasetFromDirectory(dir: string, options?: ImageDatasetOptions): Promise<Dataset<ImageBatch>>;
export async function imageDatasetFromDirectory(
  dir: string,
  options: ImageDatasetOptions = {},
): Promise<Dataset<ImageBatch> | [Dataset<ImageBatch>, Dataset<ImageBatch>]> {
  checkOptions(OP, options);
  const index = await indexImageFolder(OP, dir, { classNames: options.classNames, followLinks: options.followLinks });
  return buildDataset(OP, { sources: index.paths, labels: index.labels, classNames: index.classNames }, options, dir);
}

/** One image of imageDatasetFromFiles: its bytes' source and its class name. */
export interface LabeledImage {
  /** A File/Blob, a URL, a path in the platform's file store, or encoded bytes. */
  source: ImageSource;
  /** Class name (the folder name in imageDatasetFromDirectory). */
  label: string;
}

/**
 * imageDatasetFromDirectory's batches from a list of images with class names (files picked or dropped in a page,
 * URLs, OPFS paths). The class names are sorted as folder names are, unless options.classNames fixes them; the
 * images keep the list's order before shuffling (list them as the folder order to match imageDatasetFromDirectory).
 */
export function imageDatasetFromFiles(images: readonly LabeledImage[], options: ImageDatasetOptions & { subset: 'both' }): Promise<[Dataset<ImageBatch>, Dataset<ImageBatch>]>;
export function imageDatasetFromFiles(images: readonly LabeledImage[], options?: ImageDatasetOptions): Promise<Dataset<ImageBatch>>;
export async function imageDatasetFromFiles(
  images: readonly LabeledImage[],
  options: ImageDatasetOptions = {},
): Promise<Dataset<ImageBatch> | [Dataset<ImageBatch>, Dataset<ImageBatch>]> {
  const op = 'imageDatasetFromFiles';
  checkOptions(op, options);
  if (images.length === 0) throw new Error(`Graft ${op}: no images given`);
  const found = [...new Set(images.map((i) => i.label))].sort();
  const classNames = options.classNames ? [...options.classNames] : found;
  const missing = found.filter((c) => !classNames.includes(c));
  if (missing.length > 0) throw new Error(`Graft ${op}: images labelled ${missing.join(', ')}, which are not in classNames (${classNames.join(', ')})`);
  const labels = images.map((i) => classNames.indexOf(i.label));
  return buildDataset(op, { sources: images.map((i) => i.source), labels, classNames }, options, `${images.length} images`);
}

interface SourceIndex {
  sources: ImageSource[];
  labels: number[];
  classNames: string[];
}

function buildDataset(
  op: string,
  index: SourceIndex,
  options: ImageDatasetOptions,
  where: string,
): Dataset<ImageBatch> | [Dataset<ImageBatch>, Dataset<ImageBatch>] {
  const verbose = options.verbose ?? true;
  const labelMode = options.labelMode ?? 'int';
  if (labelMode === 'binary' && index.classNames.length !== 2) {
    throw new Error(`Graft ${op}: labelMode 'binary' needs exactly 2 classes, ${where} has ${index.classNames.length}`);
  }
  if (verbose) console.log(`Found ${index.sources.length} files belonging to ${index.classNames.length} classes.`);
  const shuffle = options.shuffle ?? true;
  const seed = options.seed ?? Math.floor(Math.random() * 1e6);
  const order = [...index.sources.keys()];
  if (shuffle) shuffleInPlace(order, rng(seed));
  const [height, width] = options.imageSize ?? [256, 256];
  const cfg: SourceConfig = {
    height, width, batchSize: options.batchSize ?? 32, labelMode, shuffle, seed, device: options.device,
    decode: { interpolation: options.interpolation, cropToAspectRatio: options.cropToAspectRatio, padToAspectRatio: options.padToAspectRatio },
  };
  const make = (idx: number[], subsetCfg: SourceConfig, name: string) => {
    if (idx.length === 0) throw new Error(`Graft ${op}: validationSplit ${options.validationSplit} leaves no ${name} images out of ${index.sources.length} in ${where}`);
    if (verbose && options.subset) console.log(`Using ${idx.length} files for ${name}.`);
    const source = new ImageBatchSource(idx.map((i) => index.sources[i]!), idx.map((i) => index.labels[i]!), index.classNames, subsetCfg, null);
    return new Dataset<ImageBatch>(source);
  };
  if (!options.subset) return make(order, cfg, 'training');
  const numVal = Math.floor(options.validationSplit! * order.length);
  const train = order.slice(0, order.length - numVal);
  const val = order.slice(order.length - numVal);
  if (options.subset === 'training') return make(train, cfg, 'training');
  if (options.subset === 'validation') return make(val, cfg, 'validation');
  // NOTE: as in Keras, the validation half of 'both' keeps one fixed order.
  return [make(train, cfg, 'training'), make(val, { ...cfg, shuffle: false }, 'validation')];
}
