// Symbolic shapes: `null` for unknown dimensions; the symbolic tensors and graph nodes themselves are in layer.ts.

/** A shape with `null` for unknown dimensions (the batch). */
export type Shape = (number | null)[];

/** `[None, 32, 32, 3]`-style text used in summaries and errors. */
export function formatSymbolic(shape: Shape): string {
  return `[${shape.map((d) => (d === null ? 'null' : String(d))).join(',')}]`;
}

/** True when `shape` fits `spec` (same rank, equal wherever spec is known). */
export function shapeFits(spec: Shape, shape: readonly number[]): boolean {
  return spec.length === shape.length && spec.every((d, i) => d === null || d === shape[i]);
}
