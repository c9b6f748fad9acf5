// EfficientNet-B0 as Keras builds it (keras.applications.efficientnet, width and depth 1.0): the MBConv blocks with
// their Keras names and drop-connect rates, and the weighted convolutions in architecture order.

/** One MBConv block of B0. */
export interface B0Block {
  /** Keras prefix without the trailing underscore, e.g. 'block2b'. */
  name: string;
  /** Input and output channels. */
  filtersIn: number;
  filtersOut: number;
  /** Expansion ratio (1: no expand conv). */
  expand: number;
  /** Depthwise kernel size and stride. */
  kernel: number;
  stride: number;
  /** Squeeze-excite channels: max(1, floor(filtersIn * 0.25)). */
  seFilters: number;
  /** Drop-connect rate 0.2 * blockIndex / 16 (Keras applies it only on residual blocks). */
  dropRate: number;
  /** Whether the block adds its input (stride 1, same channels). */
  residual: boolean;
}

/** Keras' DEFAULT_BLOCKS_ARGS. */
const STAGES = [
  { kernel: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expand: 1, stride: 1 },
  { kernel: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expand: 6, stride: 2 },
  { kernel: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expand: 6, stride: 2 },
  { kernel: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expand: 6, stride: 2 },
  { kernel: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expand: 6, stride: 1 },
  { kernel: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expand: 6, stride: 2 },
  { kernel: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expand: 6, stride: 1 },
] as const;

export const B0_STEM_FILTERS = 32;
export const B0_TOP_FILTERS = 1280;
/** Keras defaults of EfficientNetB0. */
export const B0_DROPOUT_RATE = 0.2;
export const B0_DROP_CONNECT_RATE = 0.2;

/** The 16 blocks in order. */
export function b0Blocks(dropConnectRate = B0_DROP_CONNECT_RATE): B0Block[] {
  const total = STAGES.reduce((n, s) => n + s.repeats, 0);
  const out: B0Block[] = [];
  STAGES.forEach((s, i) => {
    for (let j = 0; j < s.repeats; j++) {
      const filtersIn = j === 0 ? s.filtersIn : s.filtersOut;
      const stride = j === 0 ? s.stride : 1;
      out.push({
        name: `block${i + 1}${String.fromCharCode(97 + j)}`,
        filtersIn, filtersOut: s.filtersOut, expand: s.expand, kernel: s.kernel, stride,
        seFilters: Math.max(1, Math.floor(filtersIn * 0.25)),
        dropRate: (dropConnectRate * out.length) / total,
        residual: stride === 1 && filtersIn === s.filtersOut,
      });
    }
  });
  return out;
}

/** A weighted convolution of the network, in the order an exporter emits it. */
export interface ConvSpec {
  /** Keras layer name, e.g. 'block2a_dwconv'. */
  name: string;
  /** The BatchNormalization after it, or null (squeeze-excite convs have a bias instead). */
  bn: string | null;
  /** Input and output channels; depthwise convs have out = in. */
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  depthwise: boolean;
}

/** The 81 convolutions of B0: stem, then per block expand / dwconv / se_reduce / se_expand / project, then top. */
export function b0Convs(): ConvSpec[] {
  const conv = (name: string, bn: string | null, i: number, o: number, k = 1, stride = 1, depthwise = false): ConvSpec =>
    ({ name, bn, inChannels: i, outChannels: o, kernel: k, stride, depthwise });
  const out: ConvSpec[] = [conv('stem_conv', 'stem_bn', 3, B0_STEM_FILTERS, 3, 2)];
  for (const b of b0Blocks()) {
    const mid = b.filtersIn * b.expand;
    if (b.expand !== 1) out.push(conv(`${b.name}_expand_conv`, `${b.name}_expand_bn`, b.filtersIn, mid));
    out.push(conv(`${b.name}_dwconv`, `${b.name}_bn`, mid, mid, b.kernel, b.stride, true));
    out.push(conv(`${b.name}_se_reduce`, null, mid, b.seFilters));
    out.push(conv(`${b.name}_se_expand`, null, b.seFilters, mid));
    out.push(conv(`${b.name}_project_conv`, `${b.name}_project_bn`, mid, b.filtersOut));
  }
  out.push(conv('top_conv', 'top_bn', 320, B0_TOP_FILTERS));
  return out;
}
