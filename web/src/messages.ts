// Every message between the page (main thread) and the training worker, typed in one place.

/** The settings of one transfer-learning run, as the page's form gives them. */
export interface TrainSettings {
  /** Square input size in pixels, 64 and up (below 64 the pretrained MobileNetV2 features are almost all zero). */
  imageSize: number;
  batchSize: number;
  /** Epochs of feature extraction (frozen base). */
  featureEpochs: number;
  /** Epochs of fine-tuning after them. */
  fineTuneEpochs: number;
  /** Layers at the end of the base unfrozen for fine-tuning. */
  unfreeze: number;
  /** Adam learning rate of the head (feature extraction). */
  learningRate: number;
  /** Adam learning rate while fine-tuning. */
  fineTuneLearningRate: number;
  /** Fraction of the images held out for validation (0 disables validation). */
  validationSplit: number;
  /** Seed of the split, the shuffles and the augmentation. */
  seed: number;
}

/** One training image: its bytes and its class (the folder it came from). */
export interface ImageEntry {
  name: string;
  label: string;
  blob: Blob;
}

/** Where the pretrained base comes from. */
export type BaseSource = { kind: 'url'; url: string; name: string } | { kind: 'file'; file: Blob; name: string };

/** What the browser's storage holds about the last run (after a reload, the page offers to resume it). */
export interface StoredRun {
  settings: TrainSettings;
  classNames: string[];
  images: number;
  /** Epochs done by the newest complete checkpoint, 0 when there is none. */
  checkpointEpoch: number;
  /** The checkpoint's path in OPFS, or null. */
  checkpoint: string | null;
  baseName: string;
  /** Logs of the epochs the checkpoint includes, in order. */
  history: Record<string, number>[];
}

/** Kinds of errors the page explains, each with its own message. */
export type ErrorKind =
  | 'no-webgpu' | 'no-adapter' | 'not-an-image' | 'bad-onnx' | 'checkpoint-mismatch' | 'quota' | 'device-lost' | 'other';

/** One of the top-k classes of a prediction. */
export interface TopClass {
  className: string;
  probability: number;
}

/** Page -> worker. */
export type ToWorker =
  | { type: 'init' }
  | { type: 'load-base'; source: BaseSource; imageSize: number }
  | { type: 'train'; settings: TrainSettings; images: ImageEntry[] }
  | { type: 'resume'; fineTuneEpochs: number; featureEpochs: number }
  | { type: 'stop' }
  | { type: 'predict'; image: Blob; name: string }
  | { type: 'export'; format: 'safetensors' | 'onnx' }
  | { type: 'load-checkpoint'; file: Blob; name: string }
  | { type: 'forget' }
  | { type: 'lose-device' };

/** Worker -> page. */
export type FromWorker =
  | { type: 'ready'; adapter: string; stored: StoredRun | null }
  | { type: 'base-loaded'; name: string; layers: number; params: number }
  | { type: 'log'; line: string }
  | { type: 'progress'; line: string }
  | { type: 'epoch'; epoch: number; phase: 'feature extraction' | 'fine-tuning'; logs: Record<string, number>; totalEpochs: number }
  | { type: 'training-started'; classNames: string[]; totalEpochs: number; fineTuneAt: number; history: Record<string, number>[] }
  | { type: 'training-ended'; epochsDone: number; stopped: boolean; stored: StoredRun | null }
  | { type: 'prediction'; name: string; top: TopClass[]; probabilities: number[]; pixels: Uint8Array; size: number }
  | { type: 'download'; fileName: string; bytes: Uint8Array; mime: string }
  | { type: 'stored'; stored: StoredRun | null }
  | { type: 'model-loaded'; name: string; epochsDone: number }
  | { type: 'error'; kind: ErrorKind; message: string };
