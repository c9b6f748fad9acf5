// Image decoding and resizing with sharp: any supported file becomes H x W x 3 uint8 RGB.

import type sharp from 'sharp';

// NOTE: loaded on first use, so that importing Graft in a browser never pulls in a native Node module.
let sharpModule: Promise<typeof sharp> | null = null;
const loadSharp = () => (sharpModule ??= import('sharp').then((m) => m.default));

/** Resize filters, named as in Keras (tf.image.resize), mapped to sharp's kernels. */
export type ResizeInterpolation = 'bilinear' | 'nearest' | 'bicubic' | 'lanczos3' | 'mitchellcubic';

const KERNELS: Record<ResizeInterpolation, 'linear' | 'nearest' | 'cubic' | 'lanczos3' | 'mitchell'> = {
  bilinear: 'linear',
  nearest: 'nearest',
  bicubic: 'cubic',
  lanczos3: 'lanczos3',
  mitchellcubic: 'mitchell',
};

/** Throws naming the accepted filters when `name` is not one of them. */
export function checkInterpolation(op: string, name: string): ResizeInterpolation {
  if (!(name in KERNELS)) {
    throw new Error(`Graft ${op}: unknown interpolation '${name}' (${Object.keys(KERNELS).join(', ')})`);
  }
  return name as ResizeInterpolation;
}

/** How an image reaches the target size. */
export interface DecodeOptions {
  /** Resize filter (default 'bilinear'). */
  interpolation?: ResizeInterpolation;
  /** Crop the centred largest window with the target aspect ratio first, instead of stretching (Keras crop_to_aspect_ratio). */
  cropToAspectRatio?: boolean;
  /** Pad with black to the target aspect ratio first, centred, instead of stretching (Keras pad_to_aspect_ratio). */
  padToAspectRatio?: boolean;
}

/**
 * Decodes an image file (JPEG, PNG, WebP, GIF first frame) into `height * width * 3` RGB bytes, row-major.
 * Greyscale and CMYK become RGB through sharp's colour management; an alpha channel is dropped (not composited),
 * as tf.io.decode_image(channels=3) does.
 * Porting note: like Keras, EXIF orientation is ignored (the stored pixel grid is used as is).
 * Throws when the file is missing, unreadable, truncated or not an image.
 */
export async function decodeImage(path: string, height: number, width: number, options: DecodeOptions = {}): Promise<Uint8Array> {
  const sharpFn = await loadSharp();
  const fit = options.cropToAspectRatio ? 'cover' : options.padToAspectRatio ? 'contain' : 'fill';
  const resize = { fit, kernel: KERNELS[options.interpolation ?? 'bilinear'], background: { r: 0, g: 0, b: 0 } } as const;
  let img = sharpFn(path, { failOn: 'truncated' });
  if ((await img.metadata()).hasAlpha) {
    // NOTE: sharp resizes premultiplied and drops alpha last, which would darken translucent pixels.
    const opaque = await img.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    img = sharpFn(opaque.data, { raw: { width: opaque.info.width, height: opaque.info.height, channels: opaque.info.channels } });
  }
  const { data, info } = await img
    .removeAlpha()
    .toColourspace('srgb')
    .resize(width, height, resize)
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width || info.height !== height) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
