// The transfer-learning workflow's settings: the Keras tutorial's numbers, the demo's defaults sized for a 2-core
// software GPU, and `--full` (the tutorial's exact sizes).

/** Settings of one transfer-learning run (feature extraction, then fine-tuning). */
export interface TransferSettings {
  /** A folder with `train/<class>/*` and `test/<class>/*` images. */
  dataDir: string;
  /** An EfficientNet-B0 ONNX file; when it does not exist the pretrained MobileNetV2 is used instead. */
  efficientNetWeights: string;
  /** The pretrained MobileNetV2 ONNX file (the fallback base). */
  mobileNetWeights: string;
  /** Images are resized to imageSize x imageSize. */
  imageSize: number;
  /** Images per batch. */
  batchSize: number;
  /** Epochs of feature extraction (frozen base). */
  initialEpochs: number;
  /** Epochs of fine-tuning after them. */
  fineTuneEpochs: number;
  /** Layers of the base unfrozen for fine-tuning (its last N). */
  unfreeze: number;
  /** Adam's learning rate for feature extraction. */
  learningRate: number;
  /** Adam's learning rate for fine-tuning. */
  fineTuneLearningRate: number;
  /** Training batches per epoch; null: every image once per epoch. */
  stepsPerEpoch: number | null;
  /** Fraction of the test set used for validation at each epoch's end (the whole test set is evaluated at the end). */
  validationFraction: number;
  /** Validate during feature extraction too (the tutorial does); fine-tuning always validates. */
  validateFeatureExtraction: boolean;
  /** Where `runs/<timestamp>/` folders go. */
  outDir: string;
  /** Seed of the shuffles, the head's initial weights and the augmentations. */
  seed: number;
  /** Back the run up (backup/) every this many batches; null (or absent in an older run.json): every epoch. */
  backupSteps?: number | null;
}

/**
 * The demo's defaults, sized for about 15 minutes on a 2-core machine's software GPU. Measured: the MobileNetV2
 * forward costs about 0.12 / 0.20 / 0.29 CPU-seconds per image at 128 / 160 / 192 px, and a linear
 * probe on its features reaches about 59% / 65% of food10 at 128 / 160 px; 160 px with 12 steps per epoch ended
 * at 63.8%, so 192 px with 10 steps (320 images) per epoch. Porting note: the head's Adam rate is 5e-3, not
 * Keras' 1e-3, because 50 steps at 1e-3 leave it short of convergence.
 */
export const DEMO_DEFAULTS: TransferSettings = {
  dataDir: '../shared/data/food10',
  efficientNetWeights: 'weights/efficientnet-b0.onnx',
  mobileNetWeights: '../shared/weights/mobilenet_v2_1.0_224.onnx',
  imageSize: 192,
  batchSize: 32,
  initialEpochs: 5,
  fineTuneEpochs: 5,
  unfreeze: 10,
  learningRate: 5e-3,
  fineTuneLearningRate: 1e-4,
  stepsPerEpoch: 10,
  validationFraction: 0.25,
  validateFeatureExtraction: false,
  outDir: 'runs',
  seed: 1337,
  backupSteps: null,
};

/**
 * `--full`: the tutorial's sizes (224x224, every image every epoch, validation in both phases, Adam 1e-3).
 * Porting note: batch 16, not 32: at 224 px a batch of 32 needs a 154 MB activation buffer (block_1_expand),
 * above the 128 MiB storage-buffer limit of the device Graft requests.
 */
export const FULL_OVERRIDES: Partial<TransferSettings> = {
  imageSize: 224,
  batchSize: 16,
  learningRate: 1e-3,
  stepsPerEpoch: null,
  validateFeatureExtraction: true,
};

/** Throws a one-line error naming the first bad setting. */
export function checkSettings(s: TransferSettings): void {
  const positiveInt: (keyof TransferSettings)[] = ['imageSize', 'batchSize', 'initialEpochs', 'unfreeze'];
  for (const k of positiveInt) {
    const v = s[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v > 0)) throw new Error(`${k} must be a positive integer, got ${String(v)}`);
  }
  if (!(Number.isInteger(s.fineTuneEpochs) && s.fineTuneEpochs >= 0)) throw new Error(`fineTuneEpochs must be a non-negative integer, got ${s.fineTuneEpochs}`);
  if (s.imageSize < 32) throw new Error(`imageSize must be at least 32 (the base downsamples 32x), got ${s.imageSize}`);
  if (s.stepsPerEpoch !== null && !(Number.isInteger(s.stepsPerEpoch) && s.stepsPerEpoch > 0)) {
    throw new Error(`stepsPerEpoch must be a positive integer or 'all', got ${s.stepsPerEpoch}`);
  }
  for (const k of ['learningRate', 'fineTuneLearningRate'] as const) {
    if (!(s[k] > 0 && Number.isFinite(s[k]))) throw new Error(`${k} must be a positive number, got ${s[k]}`);
  }
  const b = s.backupSteps ?? null;
  if (b !== null && !(Number.isInteger(b) && b > 0)) throw new Error(`backupSteps must be a positive integer, got ${b}`);
  if (!(s.validationFraction > 0 && s.validationFraction <= 1)) throw new Error(`validationFraction must be in (0, 1], got ${s.validationFraction}`);
}
