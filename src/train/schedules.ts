// Learning-rate schedules (Keras formulas), evaluated at optimizer.iterations so a resumed run continues them.

/** A learning rate as a function of the optimizer step (0-based: the number of steps already applied). */
export type Schedule = (step: number) => number;

/** A schedule's saved form, enough to rebuild it with `scheduleFromConfig`. */
export interface ScheduleConfig {
  /** Keras class name, e.g. 'ExponentialDecay'. */
  className: string;
  /** Constructor options. */
  config: Record<string, unknown>;
}

/** A schedule that can be saved. */
export interface LearningRateSchedule extends Schedule {
  getConfig(): ScheduleConfig;
}

/** Options of exponentialDecay (Keras ExponentialDecay). */
export interface ExponentialDecayOptions {
  initialLearningRate: number;
  /** Steps over which the rate is multiplied by decayRate once. */
  decaySteps: number;
  decayRate: number;
  /** Decay in whole multiples of decaySteps (a step function). */
  staircase?: boolean;
}

/** lr = initial * decayRate ^ (step / decaySteps), the exponent floored when staircase. */
export function exponentialDecay(o: ExponentialDecayOptions): LearningRateSchedule {
  checkPositive('exponentialDecay', 'decaySteps', o.decaySteps);
  const staircase = o.staircase ?? false;
  const fn = (step: number): number => {
    let p = step / o.decaySteps;
    if (staircase) p = Math.floor(p);
    return o.initialLearningRate * Math.pow(o.decayRate, p);
  };
  const config = { initialLearningRate: o.initialLearningRate, decaySteps: o.decaySteps, decayRate: o.decayRate, staircase };
  return Object.assign(fn, { getConfig: () => ({ className: 'ExponentialDecay', config }) });
}

/** Options of cosineDecay (Keras CosineDecay). */
export interface CosineDecayOptions {
  initialLearningRate: number;
  /** Steps of the cosine decay (after the warmup). */
  decaySteps: number;
  /** Floor of the decay as a fraction of the rate decayed from. */
  alpha?: number;
  /** Rate reached linearly at the end of the warmup; the decay starts from it. No warmup when omitted. */
  warmupTarget?: number;
  /** Length of the linear warmup in steps. */
  warmupSteps?: number;
}

/**
 * Cosine decay from initialLearningRate (or, after a linear warmup, from warmupTarget) to alpha times that rate
 * over decaySteps, then constant.
 */
export function cosineDecay(o: CosineDecayOptions): LearningRateSchedule {
  checkPositive('cosineDecay', 'decaySteps', o.decaySteps);
  const alpha = o.alpha ?? 0;
  const warmupSteps = o.warmupSteps ?? 0;
  const decay = (step: number, from: number): number => {
    const done = step / o.decaySteps;
    const cosine = 0.5 * (1 + Math.cos(Math.PI * done));
    return from * ((1 - alpha) * cosine + alpha);
  };
  const fn = (step: number): number => {
    if (o.warmupTarget === undefined) return decay(Math.min(step, o.decaySteps), o.initialLearningRate);
    const s = Math.min(step, o.decaySteps + warmupSteps);
    if (s < warmupSteps) {
      return (o.warmupTarget - o.initialLearningRate) * (s / warmupSteps) + o.initialLearningRate;
    }
    return decay(s - warmupSteps, o.warmupTarget);
  };
  const config: Record<string, unknown> = { initialLearningRate: o.initialLearningRate, decaySteps: o.decaySteps, alpha };
  if (o.warmupTarget !== undefined) config['warmupTarget'] = o.warmupTarget;
  config['warmupSteps'] = warmupSteps;
  return Object.assign(fn, { getConfig: () => ({ className: 'CosineDecay', config }) });
}

/** Rebuilds a schedule saved with getConfig(); throws naming an unknown class or a bad field. */
export function scheduleFromConfig(c: ScheduleConfig): LearningRateSchedule {
  const f = c.config;
  const num = (key: string): number => {
    const v = f[key];
    if (typeof v !== 'number') throw new Error(`Graft scheduleFromConfig: ${c.className}.${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const opt = (key: string): number | undefined => (f[key] === undefined ? undefined : num(key));
  switch (c.className) {
    case 'ExponentialDecay':
      return exponentialDecay({
        initialLearningRate: num('initialLearningRate'),
        decaySteps: num('decaySteps'),
        decayRate: num('decayRate'),
        staircase: f['staircase'] === true,
      });
    case 'CosineDecay': {
      const o: CosineDecayOptions = { initialLearningRate: num('initialLearningRate'), decaySteps: num('decaySteps') };
      const alpha = opt('alpha');
      const warmupTarget = opt('warmupTarget');
      const warmupSteps = opt('warmupSteps');
      if (alpha !== undefined) o.alpha = alpha;
      if (warmupTarget !== undefined) o.warmupTarget = warmupTarget;
      if (warmupSteps !== undefined) o.warmupSteps = warmupSteps;
      return cosineDecay(o);
    }
    default:
      throw new Error(`Graft scheduleFromConfig: unknown schedule class '${c.className}' (known: ExponentialDecay, CosineDecay)`);
  }
}

/** Whether a schedule carries a getConfig (and can be saved). */
export function isSavableSchedule(s: Schedule): s is LearningRateSchedule {
  return typeof (s as Partial<LearningRateSchedule>).getConfig === 'function';
}

function checkPositive(fn: string, name: string, v: number): void {
  if (!(v > 0)) throw new Error(`Graft ${fn}: ${name} must be > 0, got ${v}`);
}
