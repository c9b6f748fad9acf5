// A small SVG line chart: one value per epoch for a few named series (train and validation), redrawn on each epoch.

const SVG = 'http://www.w3.org/2000/svg';

/** One line of the chart. */
export interface Series {
  name: string;
  color: string;
  /** Value per epoch (index 0 = epoch 1); NaN leaves a gap. */
  values: number[];
}

/** How a chart is drawn. */
export interface ChartOptions {
  title: string;
  /** Fixed y range, or null to fit the data (from 0). */
  yRange: [number, number] | null;
  /** Epoch (1-based) where fine-tuning starts, drawn as a dashed line. */
  fineTuneAt?: number;
  /** Total epochs planned (the x axis spans them). */
  epochs: number;
}

const W = 360;
const H = 200;
const PAD = { left: 42, right: 10, top: 24, bottom: 28 };

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Redraws `svg` with the series; cheap enough to call on every epoch from the main thread. */
export function drawChart(svg: SVGSVGElement, series: Series[], o: ChartOptions): void {
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const all = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  const [y0, y1] = o.yRange ?? [0, Math.max(1e-6, ...all) * 1.1];
  const epochs = Math.max(o.epochs, ...series.map((s) => s.values.length), 2);
  const x = (epoch: number) => PAD.left + ((epoch - 1) / (epochs - 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - ((v - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  svg.append(el('text', { x: PAD.left, y: 14, class: 'chart-title' }, o.title));
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    svg.append(el('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: PAD.left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, v.toFixed(2)));
  }
  for (let e = 1; e <= epochs; e++) {
    svg.append(el('text', { x: x(e), y: H - PAD.bottom + 14, 'text-anchor': 'middle', class: 'tick' }, String(e)));
  }
  svg.append(el('text', { x: W / 2, y: H - 2, 'text-anchor': 'middle', class: 'tick' }, 'epoch'));
  if (o.fineTuneAt !== undefined && o.fineTuneAt <= epochs) {
    const fx = x(o.fineTuneAt - 0.5);
    svg.append(el('line', { x1: fx, x2: fx, y1: PAD.top, y2: H - PAD.bottom, class: 'finetune' }));
    svg.append(el('text', { x: fx + 3, y: PAD.top + 10, class: 'tick' }, 'fine-tuning'));
  }
  series.forEach((s, i) => {
    const pts = s.values.map((v, k) => (Number.isFinite(v) ? `${x(k + 1).toFixed(1)},${y(v).toFixed(1)}` : null));
    const d = pts.reduce((acc, p, k) => (p === null ? acc : `${acc}${k === 0 || pts[k - 1] === null ? 'M' : 'L'}${p}`), '');
    if (d) svg.append(el('path', { d, stroke: s.color, fill: 'none', 'stroke-width': 2 }));
    pts.forEach((p) => {
      if (p) {
        const [cx, cy] = p.split(',');
        svg.append(el('circle', { cx: cx!, cy: cy!, r: 3, fill: s.color }));
      }
    });
    // NOTE: the legend sits on the title's line, right of it, so it never hides a point.
    svg.append(el('rect', { x: W - PAD.right - 224 + i * 116, y: 8, width: 10, height: 3, fill: s.color }));
    svg.append(el('text', { x: W - PAD.right - 210 + i * 116, y: 13, class: 'tick' }, s.name));
  });
}
