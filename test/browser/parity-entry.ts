// Browser entry of the parity test: Graft with its WGSL inlined, and the parity model.

import '../../src/browser/index.js';
import { init } from '../../src/tensor/engine.js';
import { buildParityModel, parityLogits, writeParityWeights } from './parity-model.js';

/** Result of one parity run in the page. */
export interface ParityResult {
  inference: number[];
  training: number[];
  /** The page's WebGPU adapter, in words. */
  adapter: string;
}

/** Builds the parity model, writes the given weights, and returns its logits on the batch. */
export async function runParity(weights: Record<string, number[]>, batch: number[]): Promise<ParityResult> {
  const device = await init();
  const model = buildParityModel();
  writeParityWeights(model, weights);
  const logits = await parityLogits(model, batch);
  const info = device.adapterInfo;
  return { ...logits, adapter: [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') };
}
