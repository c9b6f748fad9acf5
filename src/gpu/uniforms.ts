// Packs kernel parameters into a uniform block with WGSL's layout rules (scalars 4 bytes, vec4 aligned to 16).

export class Uniforms {
  private readonly words: number[] = [];
  private readonly kinds: ('u' | 'i' | 'f')[] = [];

  u32(...values: number[]): this {
    for (const v of values) this.push(v, 'u');
    return this;
  }

  i32(...values: number[]): this {
    for (const v of values) this.push(v, 'i');
    return this;
  }

  f32(...values: number[]): this {
    for (const v of values) this.push(v, 'f');
    return this;
  }

  /** Appends `array<vec4<u32>, ceil(n/4)>` holding `values` padded with `fill`, aligned to 16 bytes. */
  vec4u(values: readonly number[], count: number, fill = 0): this {
    this.align16();
    for (let i = 0; i < count * 4; i++) this.push(values[i] ?? fill, 'u');
    return this;
  }

  private align16(): void {
    while (this.words.length % 4 !== 0) this.push(0, 'u');
  }

  private push(v: number, kind: 'u' | 'i' | 'f'): void {
    this.words.push(v);
    this.kinds.push(kind);
  }

  /** The block's bytes, padded to a multiple of 16 as uniform buffers require. */
  bytes(): ArrayBuffer {
    this.align16();
    const buf = new ArrayBuffer(Math.max(16, this.words.length * 4));
    const u = new Uint32Array(buf);
    const i = new Int32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, k) => {
      const kind = this.kinds[k];
      if (kind === 'f') f[k] = w;
      else if (kind === 'i') i[k] = w;
      else u[k] = w >>> 0;
    });
    return buf;
  }
}
