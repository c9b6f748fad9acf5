// The text of model.summary(): Keras' table of layers, output shapes and parameter counts.

import type { Shape } from './symbolic.js';

/** What the summary reads of a model (a Functional): kept structural so summary.ts need not import it. */
export interface SummarizedModel {
  readonly name: string;
  readonly layers: readonly SummarizedLayer[];
  /** Output shapes of each application of `layer` in the model's graph. */
  outputShapesOf(layer: SummarizedLayer): Shape[];
  readonly weights: readonly { value: { size: number } }[];
  readonly trainableWeights: readonly { value: { size: number } }[];
}

/** What the summary reads of one layer. */
export interface SummarizedLayer {
  readonly name: string;
  readonly className: string;
  countParams(): number;
}

const WIDTHS = [34, 26, 12];

function row(cells: string[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c.padStart(WIDTHS[i]!) : c.padEnd(WIDTHS[i]!))).join(' ');
}

function kerasShape(s: Shape): string {
  return `(${s.map((d) => (d === null ? 'None' : String(d))).join(', ')}${s.length === 1 ? ',' : ''})`;
}

function count(ws: readonly { value: { size: number } }[]): number {
  return ws.reduce((n, w) => n + w.value.size, 0);
}

/** Builds the summary table of `model`. */
export function summaryText(model: SummarizedModel): string {
  const width = WIDTHS.reduce((a, b) => a + b + 1, -1);
  const lines = [`Model: "${model.name}"`, '_'.repeat(width), row(['Layer (type)', 'Output Shape', 'Param #']), '='.repeat(width)];
  for (const layer of model.layers) {
    const shapes = model.outputShapesOf(layer);
    const shape = shapes.length === 0 ? '?' : shapes.map(kerasShape).join(', ');
    lines.push(row([`${layer.name} (${layer.className})`, shape, String(layer.countParams())]));
  }
  const total = count(model.weights);
  const trainable = count(model.trainableWeights);
  lines.push('='.repeat(width));
  lines.push(`Total params: ${total.toLocaleString('en-US')}`);
  lines.push(`Trainable params: ${trainable.toLocaleString('en-US')}`);
  lines.push(`Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`);
  lines.push('_'.repeat(width));
  return lines.join('\n');
}
