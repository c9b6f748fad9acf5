// Optimizers: SGD, Adam, AdamW, and rebuilding one from a saved config.

import { scheduleFromConfig, type Schedule, type ScheduleConfig } from '../schedules.js';
import { Adam, type AdamOptions } from './adam.js';
import { AdamW } from './adamw.js';
import { LossScaleOptimizer } from './loss-scale.js';
import type { BaseOptimizer, Optimizer, OptimizerOptions } from './optimizer.js';
import { SGD, type SgdOptions } from './sgd.js';

export * from './optimizer.js';
export * from './sgd.js';
export * from './adam.js';
export * from './adamw.js';
export * from './loss-scale.js';

function learningRateOf(v: unknown): number | Schedule {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'className' in v && 'config' in v) return scheduleFromConfig(v as ScheduleConfig);
  throw new Error(`Graft optimizerFromConfig: learningRate must be a number or a schedule config, got ${JSON.stringify(v)}`);
}

/** Rebuilds an optimizer from getConfig() output (slots and iterations come separately, via setState). */
export function optimizerFromConfig(c: Record<string, unknown>): BaseOptimizer | LossScaleOptimizer {
  if (c['name'] === 'LossScaleOptimizer') {
    const inner = c['innerOptimizer'];
    if (!inner || typeof inner !== 'object') throw new Error('Graft optimizerFromConfig: LossScaleOptimizer needs an innerOptimizer config');
    const num = (k: string) => (typeof c[k] === 'number' ? (c[k] as number) : undefined);
    return new LossScaleOptimizer(optimizerFromConfig(inner as Record<string, unknown>) as Optimizer, {
      initialScale: num('initialScale'), dynamicGrowthSteps: num('dynamicGrowthSteps'),
    });
  }
  const o: OptimizerOptions & AdamOptions & SgdOptions = { learningRate: learningRateOf(c['learningRate']) };
  for (const k of ['clipNorm', 'globalClipNorm', 'weightDecay', 'beta1', 'beta2', 'epsilon', 'momentum'] as const) {
    const v = c[k];
    if (typeof v === 'number') o[k] = v;
  }
  if (typeof c['nesterov'] === 'boolean') o.nesterov = c['nesterov'];
  const ex = c['excludeFromWeightDecay'];
  if (Array.isArray(ex) && ex.every((x) => typeof x === 'string')) o.excludeFromWeightDecay = ex;
  switch (c['name']) {
    case 'SGD':
      return new SGD(o);
    case 'Adam':
      return new Adam(o);
    case 'AdamW':
      return new AdamW(o);
    default:
      throw new Error(`Graft optimizerFromConfig: unknown optimizer '${String(c['name'])}' (known: SGD, Adam, AdamW, LossScaleOptimizer)`);
  }
}
