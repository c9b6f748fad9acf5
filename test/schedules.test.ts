// Learning-rate schedules: Keras formulas, their landmarks, and save/restore through getConfig.

import { describe, expect, it } from 'vitest';
import { cosineDecay, exponentialDecay, scheduleFromConfig } from '../src/train/schedules.js';

describe('exponentialDecay', () => {
  const s = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
  const stair = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true });

  it('halves every decaySteps and is smooth in between', () => {
    expect(s(0)).toBe(0.1);
    expect(s(10)).toBeCloseTo(0.05, 15);
    expect(s(20)).toBeCloseTo(0.025, 15);
    expect(s(5)).toBeCloseTo(0.1 / Math.SQRT2, 15);
    for (let i = 0; i < 30; i++) expect(s(i + 1)).toBeLessThan(s(i));
  });

  it('is a step function with staircase', () => {
    for (let i = 0; i < 10; i++) expect(stair(i)).toBe(0.1);
    expect(stair(10)).toBeCloseTo(0.05, 15);
    expect(stair(19)).toBeCloseTo(0.05, 15);
    expect(stair(20)).toBeCloseTo(0.025, 15);
  });

  it('rejects decaySteps <= 0', () => {
    expect(() => exponentialDecay({ initialLearningRate: 1, decaySteps: 0, decayRate: 0.5 })).toThrow(/decaySteps must be > 0/);
  });
});

describe('cosineDecay', () => {
  it('goes from the initial rate to alpha times it along a half cosine, then stays', () => {
    const s = cosineDecay({ initialLearningRate: 0.2, decaySteps: 100, alpha: 0.1 });
    expect(s(0)).toBeCloseTo(0.2, 15);
    expect(s(50)).toBeCloseTo(0.2 * (0.9 * 0.5 + 0.1), 15);
    expect(s(25)).toBeCloseTo(0.2 * (0.9 * 0.5 * (1 + Math.SQRT1_2) + 0.1), 15);
    expect(s(100)).toBeCloseTo(0.02, 15);
    expect(s(1000)).toBeCloseTo(0.02, 15);
  });

  it('warms up linearly to warmupTarget, then decays from it', () => {
    const s = cosineDecay({ initialLearningRate: 0, decaySteps: 10, warmupTarget: 0.1, warmupSteps: 5 });
    expect(s(0)).toBe(0);
    expect(s(1)).toBeCloseTo(0.02, 15);
    expect(s(4)).toBeCloseTo(0.08, 15);
    expect(s(5)).toBeCloseTo(0.1, 15);
    expect(s(10)).toBeCloseTo(0.05, 15);
    expect(s(15)).toBeCloseTo(0, 15);
    expect(s(99)).toBeCloseTo(0, 15);
  });
});

describe('getConfig round trip', () => {
  it('rebuilds schedules that give the same rates', () => {
    const schedules = [
      exponentialDecay({ initialLearningRate: 0.3, decaySteps: 7, decayRate: 0.9, staircase: true }),
      cosineDecay({ initialLearningRate: 0.01, decaySteps: 40, alpha: 0.05, warmupTarget: 0.1, warmupSteps: 8 }),
      cosineDecay({ initialLearningRate: 0.01, decaySteps: 40 }),
    ];
    for (const s of schedules) {
      const copy = scheduleFromConfig(JSON.parse(JSON.stringify(s.getConfig())));
      for (let step = 0; step < 60; step += 3) expect(copy(step)).toBe(s(step));
    }
    expect(schedules[0]!.getConfig().className).toBe('ExponentialDecay');
  });

  it('names unknown classes and bad fields', () => {
    expect(() => scheduleFromConfig({ className: 'PolynomialDecay', config: {} })).toThrow(/unknown schedule class 'PolynomialDecay'/);
    expect(() => scheduleFromConfig({ className: 'CosineDecay', config: { initialLearningRate: '1' } })).toThrow(
      /CosineDecay.initialLearningRate must be a number/,
    );
  });
});
