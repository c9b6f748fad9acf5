// A layer weight: a GPU tensor that lives until the layer is disposed, with a name and a trainable flag.

import type { Device } from '../gpu/device.js';
import { keep } from '../tensor/engine.js';
import { Tensor } from '../tensor/tensor.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';

// NOTE: one clock for every variable, so that a version never repeats even across rebinds.
let clock = 0;
const owners = new WeakMap<Tensor, Variable>();

/**
 * Marks the variable whose value is `t` (if any) as changed: for writers that update a value tensor in place
 * without going through its Variable (optimizer kernels, moving-statistics updates).
 */
export function markWritten(t: Tensor): void {
  owners.get(t)?.markChanged();
}

/** A named weight: a tensor that persists across steps, with its trainable flag. */
export class Variable {
  private current: Tensor;
  private written = ++clock;

  constructor(
    /** `layer/weight`, e.g. `block1a_dwconv/depthwise_kernel`. */
    readonly name: string,
    value: Tensor,
    /** False for state that no gradient updates (BatchNormalization's moving statistics). */
    readonly trainable: boolean,
  ) {
    this.current = keep(value);
    this.current.name = name;
    owners.set(this.current, this);
  }

  /**
   * Changes whenever the contents may have changed (write, assign, rebind, optimizer steps, moving statistics):
   * caches of values derived from this variable (folded conv + batch-norm weights) compare it.
   */
  get version(): number {
    return this.written;
  }

  /** Records an in-place change of the value made outside this class (see markWritten). */
  markChanged(): void {
    this.written = ++clock;
  }

  /** The current value; updated in place by optimizers and assign(), replaced only by rebind(). */
  get value(): Tensor {
    return this.current;
  }

  /**
   * Moves this variable to `device` with fresh, unset contents (write() them next): the way back after its old
   * device was lost, when its values can no longer be read.
   */
  rebind(device: Device): void {
    const t = keep(new Tensor(device, this.current.shape, this.current.dtype));
    t.name = this.name;
    t.requiresGrad = this.current.requiresGrad;
    // NOTE: disposing only books the old buffer back into the lost device's pool (no GPU call), keeping memory() right.
    this.current.dispose();
    this.current = t;
    owners.set(t, this);
    this.markChanged();
  }

  /** The value's shape. */
  get shape(): readonly number[] {
    return this.value.shape;
  }

  /** Copies `t`'s values into this variable (same shape). */
  assign(t: Tensor): void {
    if (!shapesEqual(t.shape, this.value.shape)) {
      throw new Error(`Graft: cannot assign ${formatShape(t.shape)} to variable '${this.name}' of shape ${formatShape(this.value.shape)}`);
    }
    this.value.device.copy(t.buffer, 0, this.value.buffer, 0, this.value.size * 4);
    this.markChanged();
  }

  /** Writes CPU values into this variable. */
  write(values: Float32Array): void {
    if (values.length !== this.value.size) {
      throw new Error(`Graft: ${values.length} values for variable '${this.name}' of shape ${formatShape(this.value.shape)}`);
    }
    this.value.device.write(this.value.buffer, values);
    this.markChanged();
  }

  /** Reads the values back to the CPU. */
  async read(): Promise<Float32Array> {
    return (await this.value.data()) as Float32Array;
  }

  /** Frees the value. */
  dispose(): void {
    this.value.dispose();
  }
}
