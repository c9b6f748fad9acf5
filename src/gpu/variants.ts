// Kernel variants: several kernels per family (register-tiled, workgroup-tiled, subgroup, f16), each checked against
// the adapter's features and limits, chosen by a forced name (tests), the tuner's measured choice, or a heuristic.

import type { Device } from './device.js';

/** What a variant asks of the adapter for one call: features and a specialization's workgroup footprint. */
export interface VariantNeeds {
  /** Adapter features the shader enables ('subgroups', 'shader-f16'). */
  features?: readonly string[];
  /** Workgroup size in x and y. */
  workgroup?: readonly [number, number];
  /** Bytes of `var<workgroup>` memory the specialization declares. */
  workgroupBytes?: number;
}

/** The adapter properties variants are checked against (a Device's `gpu.features` and `limits`). */
export interface AdapterCaps {
  features: { has(feature: string): boolean };
  limits: Pick<
    GPUSupportedLimits,
    'maxComputeWorkgroupSizeX' | 'maxComputeWorkgroupSizeY' | 'maxComputeInvocationsPerWorkgroup' | 'maxComputeWorkgroupStorageSize'
  >;
}

/** A device's capabilities, as `unsupportedReason` reads them. */
export function capsOf(device: Device): AdapterCaps {
  return { features: device.gpu.features, limits: device.limits };
}

/** Why an adapter with `caps` cannot run a specialization with these needs, or null when it can. */
export function unsupportedReason(caps: AdapterCaps, needs: VariantNeeds): string | null {
  for (const f of needs.features ?? []) {
    if (!caps.features.has(f)) return `the adapter lacks the '${f}' feature`;
  }
  const l = caps.limits;
  if (needs.workgroup) {
    const [x, y] = needs.workgroup;
    if (x > l.maxComputeWorkgroupSizeX || y > l.maxComputeWorkgroupSizeY) {
      return `workgroup ${x}x${y} exceeds the adapter's ${l.maxComputeWorkgroupSizeX}x${l.maxComputeWorkgroupSizeY}`;
    }
    if (x * y > l.maxComputeInvocationsPerWorkgroup) {
      return `workgroup of ${x * y} invocations exceeds maxComputeInvocationsPerWorkgroup ${l.maxComputeInvocationsPerWorkgroup}`;
    }
  }
  if (needs.workgroupBytes !== undefined && needs.workgroupBytes > l.maxComputeWorkgroupStorageSize) {
    return `${needs.workgroupBytes} bytes of workgroup memory exceed maxComputeWorkgroupStorageSize ${l.maxComputeWorkgroupStorageSize}`;
  }
  return null;
}

const forced = new Map<string, string>();

/**
 * Forces `family` (e.g. 'matmul') to run variant `name` until the returned function is called (tests loop over
 * variants with it). A forced variant the adapter cannot run is an error at the call, naming family and variant.
 */
export function forceVariant(family: string, name: string): () => void {
  const before = forced.get(family);
  forced.set(family, name);
  return () => {
    if (before === undefined) forced.delete(family);
    else forced.set(family, before);
  };
}

/** Runs `fn` with `family` forced to variant `name`, restoring the previous choice afterwards (awaits async fns). */
export async function withVariant<T>(family: string, name: string, fn: () => T | Promise<T>): Promise<T> {
  const restore = forceVariant(family, name);
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** The variant forced for `family`, if any. */
export function forcedVariant(family: string): string | undefined {
  return forced.get(family);
}

/** A kernel family's variants, for the tuner and for `forceVariant`. */
export interface VariantFamily {
  /** Family name, as passed to `forceVariant`. */
  family: string;
  /** Every variant name, the heuristic default first. */
  names: readonly string[];
  /** Variants whose results may differ beyond float32 tolerance (f16 storage): never picked unless forced. */
  lowPrecision: readonly string[];
}

const families = new Map<string, VariantFamily>();

/** Registers a family's variants (each op module does this once). */
export function registerFamily(f: VariantFamily): VariantFamily {
  families.set(f.family, f);
  return f;
}

/** The registered families: tests and the GPU check script loop over them. */
export function variantFamilies(): VariantFamily[] {
  return [...families.values()];
}

/** Throws for a forced variant name the family does not have. */
export function checkVariantName(f: VariantFamily, name: string): void {
  if (!f.names.includes(name)) {
    throw new Error(`Graft ${f.family}: unknown variant '${name}' (known: ${f.names.join(', ')})`);
  }
}

/**
 * The variant a call of family `f` runs: the forced one (tests; its name checked against the family), else
 * `otherwise()` (the tuner's choice, a precision variant or the heuristic). Every family picks through this.
 */
export function forcedOr(f: VariantFamily, otherwise: () => string): string {
  const name = forcedVariant(f.family);
  if (name === undefined) return otherwise();
  checkVariantName(f, name);
  return name;
}

/** The precision kernels compute in: 'float32', or 'float16' under a mixed-precision policy (f16 storage tiles). */
export type ComputePrecision = 'float32' | 'float16';

let precision: ComputePrecision = 'float32';

/** The current compute precision (a mixed_float16 layer sets 'float16' around its call). */
export function computePrecision(): ComputePrecision {
  return precision;
}

/** Runs `fn` (synchronous, like a layer's call) with the compute precision set to `p`, restoring it afterwards. */
export function withComputePrecision<T>(p: ComputePrecision, fn: () => T): T {
  const before = precision;
  precision = p;
  try {
    return fn();
  } finally {
    precision = before;
  }
}

/**
 * The variant a family runs when nothing is forced: under 'float16' compute precision its first low-precision
 * variant the adapter can run (`runnable` says which), else `otherwise()` (the tuner's choice or the heuristic).
 */
export function precisionVariant(f: VariantFamily, runnable: (name: string) => boolean, otherwise: () => string): string {
  if (precision === 'float16') {
    const low = f.lowPrecision.find(runnable);
    if (low !== undefined) return low;
  }
  return otherwise();
}
