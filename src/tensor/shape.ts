// Shape arithmetic shared by ops: sizes, strides, broadcasting, axis normalization.

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Row-major strides. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`Graft ${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` viewed in an output of rank `rank`, with 0 for broadcast dimensions. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const strides = stridesOf(shape);
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const oi = rank - shape.length + i;
    out[oi] = shape[i] === 1 && outShape[oi] !== 1 ? 0 : strides[i]!;
  }
  return out;
}

/** Normalizes axes (negative allowed) for a tensor of rank `rank`; throws naming the op. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, shape: readonly number[]): number[] {
  const rank = shape.length;
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out: number[] = [];
  for (const a of list) {
    if (!Number.isInteger(a) || a < -rank || a >= Math.max(rank, 1) || (rank === 0 && a !== 0 && a !== -1)) {
      throw new Error(`Graft ${op}: axis ${a} is out of range for shape ${formatShape(shape)}`);
    }
    const n = a < 0 ? a + rank : a;
    if (out.includes(n)) throw new Error(`Graft ${op}: axis ${a} repeated for shape ${formatShape(shape)}`);
    out.push(n);
  }
  return out.sort((x, y) => x - y);
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Max rank that kernels with shape uniforms support. */
export const MAX_RANK = 8;

export function checkRank(op: string, shape: readonly number[]): void {
  if (shape.length > MAX_RANK) throw new Error(`Graft ${op}: rank ${shape.length} exceeds ${MAX_RANK} for shape ${formatShape(shape)}`);
}
