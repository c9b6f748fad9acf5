// The Keras progress line, driven by a fake clock and a fake stream.

import { describe, expect, it } from 'vitest';
import { epochHeader, formatLogValue, formatTimePerUnit, printEpochHeader, ProgressBar } from '../src/train/progress.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, isTTY, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

/** A bar over `steps` steps: the first takes firstMs, the others stepMs each. */
function run(verbose: 0 | 1 | 2, isTTY: boolean, steps: number, firstMs: number, stepMs: number, logs: (s: number) => Record<string, number>) {
  let t = 1000;
  const stream = fakeStream(isTTY);
  const bar = new ProgressBar({ target: steps, verbose, stream, now: () => t });
  for (let s = 1; s <= steps; s++) {
    t += s === 1 ? firstMs : stepMs;
    bar.update(s, logs(s));
  }
  return stream;
}

describe('time and value formatting', () => {
  it('formats time per step like Keras', () => {
    expect(formatTimePerUnit(0.246)).toBe(' 246ms/step');
    expect(formatTimePerUnit(2.4)).toBe(' 2s/step');
    expect(formatTimePerUnit(8.7e-5)).toBe(' 87us/step');
    expect(formatTimePerUnit(0)).toBe(' 0s/step');
    expect(formatTimePerUnit(0.0025, 'sample')).toBe(' 2ms/sample');
  });

  it('formats values with %.4f, or %.4e near zero', () => {
    expect(formatLogValue(0.72621)).toBe('0.7262');
    expect(formatLogValue(12)).toBe('12.0000');
    expect(formatLogValue(1.5e-5)).toBe('1.5000e-05');
    expect(formatLogValue(0)).toBe('0.0000e+00');
    expect(formatLogValue(-2.5e-12)).toBe('-2.5000e-12');
    expect(formatLogValue(NaN)).toBe('nan');
  });

  it('prints epoch headers from the 0-based epoch index', () => {
    expect(epochHeader(2, 10)).toBe('Epoch 3/10');
    const s = fakeStream(false);
    printEpochHeader(s, 0, 5);
    expect(s.text()).toBe('Epoch 1/5\n');
  });
});

describe('ProgressBar', () => {
  const logs = (s: number) => ({ loss: 1 / s, accuracy: 0.5 + s / 1000 });

  it('prints one final Keras line per epoch when not a TTY', () => {
    // 235 steps: first 6.5 s, then 246 ms each: 64.06 s in all.
    const s = run(1, false, 235, 6500, 246, logs);
    expect(s.chunks.length).toBe(1);
    expect(s.text()).toBe('235/235 [==============================] - 64s 246ms/step - loss: 0.0043 - accuracy: 0.7350\n');
  });

  it('redraws in place on a TTY with an ETA, and ends with the final line', () => {
    const s = run(1, true, 10, 500, 100, (k) => ({ loss: 1 / k }));
    expect(s.chunks.every((c) => c.startsWith('\r'))).toBe(true);
    expect(s.chunks.length).toBe(10);
    expect(s.chunks[2]).toBe('\r 3/10 [========>.....................] - ETA: 0s - loss: 0.3333');
    expect(s.chunks[9]).toBe('\r10/10 [==============================] - 1s 100ms/step - loss: 0.1000\n');
    expect(s.chunks.slice(0, 9).some((c) => c.endsWith('\n'))).toBe(false);
  });

  it('throttles redraws to the interval on a TTY', () => {
    const s = run(1, true, 100, 10, 10, () => ({}));
    // one draw per 50 ms of 10 ms steps (the first draw at step 1), plus the final line
    expect(s.chunks.length).toBe(21);
  });

  it('shows ETAs in minutes and hours', () => {
    let t = 0;
    const stream = fakeStream(true);
    const bar = new ProgressBar({ target: 1000, stream, now: () => t });
    t = 5000;
    bar.update(1);
    expect(stream.chunks.at(-1)).toContain('ETA: 1:23:15');
    t += 100;
    bar.update(2);
    expect(stream.chunks.at(-1)).toContain('ETA: 1:39');
  });

  it('pads a shorter redraw to erase the previous line', () => {
    let t = 0;
    const stream = fakeStream(true);
    const bar = new ProgressBar({ target: 4, stream, now: () => t, intervalMs: 0 });
    t = 1;
    bar.update(1, { loss: 12345.678 });
    t = 2;
    bar.update(2, { loss: 0.5 });
    expect(stream.chunks[1]!.length).toBe(stream.chunks[0]!.length);
  });

  it('prints one summary line with verbose 2, and nothing with verbose 0', () => {
    const s = run(2, true, 235, 6500, 246, logs);
    expect(s.text()).toBe('235/235 - 64s - 246ms/step - loss: 0.0043 - accuracy: 0.7350\n');
    expect(run(0, true, 20, 10, 10, logs).chunks).toEqual([]);
  });

  it('finalizes once, with validation logs when finalize is passed explicitly (Keras ProgbarLogger)', () => {
    let t = 0;
    const stream = fakeStream(false);
    const bar = new ProgressBar({ target: 3, stream, now: () => t });
    for (let k = 1; k <= 3; k++) {
      t += 1000;
      bar.update(k, { loss: 0.5 }, false);
    }
    bar.update(3, { loss: 0.5, val_loss: 0.25, batch: 2, size: 32 }, true);
    bar.update(3, { loss: 0.1 }, true);
    expect(stream.text()).toBe('3/3 [==============================] - 3s 1s/step - loss: 0.5000 - val_loss: 0.2500\n');
  });

  it('handles an unknown target', () => {
    let t = 0;
    const stream = fakeStream(false);
    const bar = new ProgressBar({ target: null, stream, now: () => t });
    t = 2000;
    bar.update(40, { loss: 2 }, true);
    expect(stream.text()).toBe('     40/Unknown - 2s 50ms/step - loss: 2.0000\n');
  });
});
