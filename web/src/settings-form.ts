// The settings form: read and checked into TrainSettings, or one message naming the field that is wrong.

import type { TrainSettings } from './messages.js';

type Rule = { label: string; min: number; max: number; integer: boolean };

const RULES: Record<keyof TrainSettings, Rule> = {
  imageSize: { label: 'Image size', min: 64, max: 512, integer: true },
  batchSize: { label: 'Batch size', min: 1, max: 256, integer: true },
  featureEpochs: { label: 'Feature-extraction epochs', min: 0, max: 1000, integer: true },
  fineTuneEpochs: { label: 'Fine-tuning epochs', min: 0, max: 1000, integer: true },
  unfreeze: { label: 'Layers to unfreeze', min: 1, max: 1000, integer: true },
  learningRate: { label: 'Learning rate', min: 0, max: 10, integer: false },
  fineTuneLearningRate: { label: 'Fine-tuning learning rate', min: 0, max: 10, integer: false },
  validationSplit: { label: 'Validation split', min: 0, max: 0.9, integer: false },
  seed: { label: 'Seed', min: 0, max: 2 ** 32 - 1, integer: true },
};

/** The form's values, or throws an Error naming the first invalid field. */
export function readSettings(form: HTMLFormElement): TrainSettings {
  const out: Partial<TrainSettings> = {};
  for (const [key, r] of Object.entries(RULES) as [keyof TrainSettings, Rule][]) {
    const input = form.elements.namedItem(key) as HTMLInputElement | null;
    const v = Number(input?.value ?? NaN);
    if (!Number.isFinite(v) || v < r.min || v > r.max || (r.integer && !Number.isInteger(v))) {
      throw new Error(`${r.label} must be ${r.integer ? 'a whole number' : 'a number'} from ${r.min} to ${r.max}, got '${input?.value ?? ''}'`);
    }
    out[key] = v;
  }
  const s = out as TrainSettings;
  if (s.featureEpochs + s.fineTuneEpochs === 0) throw new Error('Set at least one epoch of feature extraction or fine-tuning');
  return s;
}

/** Puts settings (of a stored run) back into the form. */
export function writeSettings(form: HTMLFormElement, s: TrainSettings): void {
  for (const key of Object.keys(RULES) as (keyof TrainSettings)[]) {
    const input = form.elements.namedItem(key) as HTMLInputElement | null;
    if (input) input.value = String(s[key]);
  }
}
