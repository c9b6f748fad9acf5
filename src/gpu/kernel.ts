// A kernel owns its WGSL entry point, its bindings, its specialization constants and its dispatch formula.

import type { Uniforms } from './uniforms.js';

/** Names of the files in `shaders/` (without `.wgsl`): one per kernel family. */
export type ShaderFile = string;

/** Workgroup counts in x, y, z. */
export type Workgroups = readonly [number, number, number];

/** What a kernel needs to run once: its buffers and parameters. */
export interface KernelSpec<P> {
  /** Unique name: part of the pipeline cache key and of error messages. */
  name: string;
  /** WGSL file in `shaders/`. */
  shader: ShaderFile;
  /** Entry point in that file. */
  entryPoint: string;
  /** Number of read-only storage bindings (bound first, from binding 0). */
  inputs: number;
  /** Number of read-write storage bindings (bound after the inputs). */
  outputs: number;
  /** Override constants for a specialization (pipeline cache key). Workgroup size goes here too. */
  constants: (p: P) => Record<string, number>;
  /** Parameters that vary per call, in a uniform block bound last. */
  uniforms: (p: P) => Uniforms;
  /** Workgroups to dispatch for these parameters. */
  workgroups: (p: P) => Workgroups;
}

/** A typed kernel: ops call `device.run(kernel, buffers, params)`; there are no string lookups. */
export interface Kernel<P> extends KernelSpec<P> {
  readonly id: number;
}

let nextId = 0;

export function defineKernel<P>(spec: KernelSpec<P>): Kernel<P> {
  return { ...spec, id: nextId++ };
}

/** Max workgroups per dimension that WebGPU guarantees. */
export const MAX_GROUPS = 65535;

/**
 * Splits `n` workgroups into a 2-D grid within the per-dimension limit.
 * Shaders recover the linear group index as `wid.x + wid.y * nwg.x`.
 */
export function grid(n: number): Workgroups {
  if (n <= MAX_GROUPS) return [Math.max(1, n), 1, 1];
  const y = Math.ceil(n / MAX_GROUPS);
  return [Math.ceil(n / y), y, 1];
}
