// An SVG plot of a training history: accuracy and loss per epoch (training and validation), with an optional
// marker where fine-tuning began, as in the Keras transfer-learning tutorial's figure. Hand-written SVG, no deps.

/** What plotHistorySvg draws. */
export interface HistoryPlotData {
  /** 0-based epoch indices, one per logged epoch (History.epoch). */
  epoch: readonly number[];
  /** Per log key, one value per epoch (History.history): `loss`, `accuracy`, `val_loss`, `val_accuracy`, ... */
  history: Readonly<Record<string, readonly number[]>>;
}

/** Options of plotHistorySvg. */
export interface HistoryPlotOptions {
  /** Epochs done when fine-tuning began (its first epoch has 0-based index fineTuneAt); no marker when absent. */
  fineTuneAt?: number;
  /** Title above the panels. */
  title?: string;
  /** Width in pixels (default 720); each panel is 300 px high. */
  width?: number;
}

const PANEL_H = 300;
const MARGIN = { left: 64, right: 24, top: 36, bottom: 40 };
const COLORS: Record<string, string> = { train: '#1f77b4', val: '#ff7f0e' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Nice tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

interface Panel {
  metric: string;
  top: number;
}

function panelSvg(data: HistoryPlotData, p: Panel, width: number, opts: HistoryPlotOptions): string {
  const series = [
    { key: p.metric, label: `Training ${p.metric}`, color: COLORS.train! },
    { key: `val_${p.metric}`, label: `Validation ${p.metric}`, color: COLORS.val! },
  ].filter((s) => (data.history[s.key]?.length ?? 0) > 0);
  const x0 = MARGIN.left;
  const x1 = width - MARGIN.right;
  const y0 = p.top + MARGIN.top;
  const y1 = p.top + PANEL_H - MARGIN.bottom;
  const epochs = data.epoch.map((e) => e + 1);
  const eMin = Math.min(1, ...epochs);
  const eMax = Math.max(eMin + 1, ...epochs);
  const values = series.flatMap((s) => data.history[s.key]!.filter(Number.isFinite));
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (p.metric === 'accuracy') [lo, hi] = [Math.min(lo, Math.max(0, hi - 0.1)), Math.max(hi, Math.min(1, lo + 0.1))];
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  [lo, hi] = [lo - pad, hi + pad];
  const sx = (e: number) => x0 + ((e - eMin) / (eMax - eMin)) * (x1 - x0);
  const sy = (v: number) => y1 - ((v - lo) / (hi - lo)) * (y1 - y0);
  const parts: string[] = [`<g class="panel" data-metric="${esc(p.metric)}">`];
  parts.push(`<text x="${x0}" y="${p.top + 22}" font-size="14" font-weight="bold">${esc(p.metric === 'loss' ? 'Training and Validation Loss' : `Training and Validation ${p.metric[0]!.toUpperCase()}${p.metric.slice(1)}`)}</text>`);
  parts.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#888"/>`);
  for (const t of ticks(lo, hi)) {
    const y = sy(t).toFixed(1);
    parts.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  const step = Math.max(1, Math.ceil((eMax - eMin) / 12));
  for (let e = eMin; e <= eMax; e += step) {
    parts.push(`<text x="${sx(e).toFixed(1)}" y="${y1 + 16}" font-size="11" text-anchor="middle">${e}</text>`);
  }
  parts.push(`<text x="${(x0 + x1) / 2}" y="${y1 + 32}" font-size="12" text-anchor="middle">epoch</text>`);
  if (opts.fineTuneAt !== undefined) {
    // NOTE: as in the Keras tutorial, the line sits at the last feature-extraction epoch.
    const x = sx(Math.max(eMin, opts.fineTuneAt)).toFixed(1);
    parts.push(`<line class="fine-tune-start" x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${x}" y="${y0 - 4}" font-size="11" fill="#2ca02c" text-anchor="middle">Start Fine Tuning</text>`);
  }
  series.forEach((s, k) => {
    const vals = data.history[s.key]!;
    const pts = vals.map((v, i) => (Number.isFinite(v) && i < epochs.length ? `${sx(epochs[i]!).toFixed(1)},${sy(v).toFixed(1)}` : null)).filter((q) => q !== null);
    parts.push(`<polyline class="series" data-key="${esc(s.key)}" fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const q of pts) {
      const [cx, cy] = q.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
    }
    // NOTE: the legend sits on the title line, right-aligned, so that it never hides a curve.
    const ly = p.top + 18;
    const lx = x1 - (series.length - k) * 150;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${lx + 26}" y="${ly}" font-size="11" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  parts.push('</g>');
  return parts.join('\n');
}

/**
 * An SVG document with one panel per metric (accuracy when logged, then loss), training and validation curves
 * over 1-based epochs, and a dashed "Start Fine Tuning" line (class `fine-tune-start`) when `fineTuneAt` is given.
 */
export function plotHistorySvg(data: HistoryPlotData, options: HistoryPlotOptions = {}): string {
  const width = options.width ?? 720;
  const metrics = ['accuracy', 'loss'].filter((m) => (data.history[m]?.length ?? 0) > 0 || (data.history[`val_${m}`]?.length ?? 0) > 0);
  if (metrics.length === 0) throw new Error(`Graft plotHistorySvg: the history has neither loss nor accuracy (keys: ${Object.keys(data.history).join(', ') || 'none'})`);
  const titleH = options.title ? 28 : 0;
  const height = titleH + metrics.length * PANEL_H;
  const body = metrics.map((metric, i) => panelSvg(data, { metric, top: titleH + i * PANEL_H }, width, options));
  const title = options.title ? `<text x="${width / 2}" y="20" font-size="16" text-anchor="middle">${esc(options.title)}</text>\n` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${title}${body.join('\n')}
</svg>
`;
}
