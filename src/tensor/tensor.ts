// Tensor: a shape, a dtype and a GPU buffer, plus the autograd fields.

import type { Device } from '../gpu/device.js';
import { computePrecision, withComputePrecision } from '../gpu/variants.js';
import { backward } from './autograd.js';
import { getDevice, isGradEnabled, keep, live, track } from './engine.js';
import { boxMuller, rng } from './random.js';
import { sizeOf, formatShape } from './shape.js';

/** Element types a tensor can hold (4 bytes each on the GPU). */
export type DType = 'float32' | 'int32';

/** One recorded op on the autograd tape. */
export interface TapeNode {
  /** Op name, for error messages. */
  name: string;
  /** The op's tensor inputs, in order. */
  inputs: Tensor[];
  /** Gradients w.r.t. each input given the output gradient; entries for inputs not in `needs` may be null. */
  backward: (grad: Tensor, needs: readonly boolean[]) => (Tensor | null)[];
}

/** A GPU buffer shared by a tensor and its reshaped views. */
interface Storage {
  buffer: GPUBuffer;
  refs: number;
}

/** An n-dimensional array in a GPU buffer, with the autograd fields (`requiresGrad`, `grad`, `node`). */
export class Tensor {
  /** Number of elements (product of the shape). */
  readonly size: number;
  /** Whether gradients flow to this tensor (leaves: set by the user; op outputs: derived). */
  requiresGrad = false;
  /** Accumulated gradient, filled by `backward()` on leaves that require grad. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when recorded on the tape. */
  node: TapeNode | null = null;
  /** Optional name used in messages (e.g. a weight's layer path). */
  name: string | undefined;
  private storage: Storage | null;

  /** Allocates a tensor, or a view sharing `share`'s buffer (reshape) when given. */
  constructor(
    /** The device that owns the buffer. */
    readonly device: Device,
    /** Dimensions, outermost first (row-major). */
    readonly shape: readonly number[],
    /** Element type. */
    readonly dtype: DType,
    share?: Tensor,
  ) {
    this.size = sizeOf(shape);
    if (share) {
      this.storage = share.storage!;
      if (!this.storage) throw new Error(`Graft: cannot view disposed tensor ${formatShape(share.shape)}`);
      this.storage.refs++;
    } else {
      this.storage = { buffer: device.pool.acquire(this.size * 4, undefined, shape), refs: 1 };
      live.bytes += this.size * 4;
    }
    live.tensors++;
    track(this);
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Whether `dispose()` has freed the buffer. */
  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** The GPU buffer; throws if the tensor was disposed. */
  get buffer(): GPUBuffer {
    if (!this.storage) throw new Error(`Graft: tensor${this.name ? ` '${this.name}'` : ''} ${formatShape(this.shape)} was disposed`);
    return this.storage.buffer;
  }

  /** Reads the values back to the CPU. */
  async data(): Promise<Float32Array | Int32Array> {
    const bytes = await this.device.read(this.buffer, this.size * 4);
    return this.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  /** Reads the values as a flat number array, handy in tests and logs. */
  async array(): Promise<number[]> {
    return Array.from(await this.data());
  }

  /** Frees the GPU buffer (back to the pool). Idempotent. */
  dispose(): void {
    const s = this.storage;
    if (!s) return;
    if (--s.refs === 0) {
      this.device.pool.release(s.buffer);
      live.bytes -= this.size * 4;
    }
    this.storage = null;
    this.node = null;
    live.tensors--;
  }

  /** A tensor sharing nothing with the tape: same values, no history. */
  detach(): Tensor {
    const out = new Tensor(this.device, this.shape, this.dtype);
    this.device.copy(this.buffer, 0, out.buffer, 0, this.size * 4);
    return out;
  }

  /** Marks this leaf as requiring gradients; returns this. */
  requireGrad(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /** Backpropagates from this tensor; see autograd.ts. */
  backward(grad?: Tensor): void {
    if (!gradOps) throw new Error('Graft backward: the ops layer is not loaded; import graft (or src/ops/elementwise.ts)');
    backward<Tensor>(this, grad, gradOps);
  }

  /** `Tensor([2,3], float32)`, for messages. */
  toString(): string {
    return `Tensor(${formatShape(this.shape)}, ${this.dtype})`;
  }
}

/** The two ops backward needs (gradient accumulation, the ones seed); their kernels live in the ops layer. */
export interface GradOps {
  add(a: Tensor, b: Tensor): Tensor;
  onesLike(t: Tensor): Tensor;
}

let gradOps: GradOps | null = null;
/** Called by src/ops/elementwise.ts, which owns the add and fill kernels. */
export function setGradOps(ops: GradOps): void {
  gradOps = ops;
}

/** Creates the output tensor of an op and records its tape node when any input requires grad. */
export function recordOp(out: Tensor, inputs: Tensor[], name: string, backward: TapeNode['backward']): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    // NOTE: a backward runs at the compute precision of its forward (a mixed layer's ops get f16 kernels both ways).
    const p = computePrecision();
    out.node = { name, inputs, backward: (g, needs) => withComputePrecision(p, () => backward(g, needs)) };
  }
  return out;
}

/** Options for tensor creation. */
export interface CreateOptions {
  /** Element type (default 'float32'). */
  dtype?: DType;
  /** Device to allocate on (default: the one `init()` set). */
  device?: Device;
  /** Marks the new tensor as a leaf that collects gradients. */
  requiresGrad?: boolean;
}

/** Allocates an uninitialized tensor (contents are whatever the pooled buffer held). */
export function empty(shape: readonly number[], dtype: DType = 'float32', device: Device = getDevice()): Tensor {
  return new Tensor(device, [...shape], dtype);
}

/** Creates a tensor from values (flat, in row-major order). */
export function tensor(values: ArrayLike<number>, shape?: readonly number[], options: CreateOptions = {}): Tensor {
  const s = shape ? [...shape] : [values.length];
  const n = sizeOf(s);
  if (values.length !== n) {
    throw new Error(`Graft: tensor() got ${values.length} values for shape ${formatShape(s)} (${n} elements)`);
  }
  const dtype = options.dtype ?? 'float32';
  const device = options.device ?? getDevice();
  const t = new Tensor(device, s, dtype);
  const arr = dtype === 'int32' ? Int32Array.from(values) : Float32Array.from(values);
  if (n > 0) device.write(t.buffer, arr);
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** A scalar tensor of shape []. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return tensor([value], [], options);
}

/** Creates a tensor filled with `value`. */
export function fill(shape: readonly number[], value: number, options: CreateOptions = {}): Tensor {
  const n = sizeOf(shape);
  const arr = options.dtype === 'int32' ? new Int32Array(n).fill(value) : new Float32Array(n).fill(value);
  return tensor(arr, shape, options);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return fill(shape, 0, options);
}

/** A tensor of ones. */
export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return fill(shape, 1, options);
}

export { rng };

/** Options for random tensors. */
export interface RandomOptions extends CreateOptions {
  /** Seed of the mulberry32 stream; without one, each call draws a new fixed seed (reproducible per process). */
  seed?: number;
}

let autoSeed = 1;

/** Uniform values in [min, max), drawn on the CPU from a seeded stream. */
export function randomUniform(shape: readonly number[], min = 0, max = 1, options: RandomOptions = {}): Tensor {
  const r = rng(options.seed ?? autoSeed++ * 7919);
  const n = sizeOf(shape);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = min + (max - min) * r();
  return tensor(v, shape, options);
}

/** Normal values (Box–Muller), drawn on the CPU from a seeded stream. */
export function randomNormal(shape: readonly number[], mean = 0, stddev = 1, options: RandomOptions = {}): Tensor {
  const r = rng(options.seed ?? autoSeed++ * 7919);
  const n = sizeOf(shape);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const [z0, z1] = boxMuller(1 - r(), r(), mean, stddev);
    v[i] = z0;
    if (i + 1 < n) v[i + 1] = z1;
  }
  return tensor(v, shape, options);
}

export { keep };
