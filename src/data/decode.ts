// Image files to model inputs: the platform decodes (sharp in Node, createImageBitmap in browsers), Graft resizes
// (src/data/resize.ts), so both give the same H x W x 3 uint8 RGB.

import { readBytes } from '../io/bytes.js';
import { platform, type ImageSource } from '../platform/platform.js';
import { checkInterpolation, resizeRgb, type ResizeInterpolation, type ResizeOptions } from './resize.js';

export { checkInterpolation, type ResizeInterpolation };

/** How an image reaches the target size. */
export type DecodeOptions = ResizeOptions;

/** Largest image file decoded (a photo is a few MB; this refuses a hostile or mistaken multi-gigabyte file). */
const MAX_IMAGE_BYTES = 256 * 2 ** 20;

/** A name for an image source in messages. */
export function imageLabel(source: ImageSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (typeof File !== 'undefined' && source instanceof File) return source.webkitRelativePath || source.name;
  return source instanceof Uint8Array ? '<bytes>' : '<blob>';
}

/**
 * Decodes an image (JPEG, PNG, WebP, GIF first frame) into `height * width * 3` RGB bytes, row-major.
 * Greyscale and CMYK become RGB; an alpha channel is dropped (not composited), as tf.io.decode_image(channels=3) does.
 * Porting note: like Keras, EXIF orientation is ignored (the stored pixel grid is used as is).
 * Throws when the file is missing, unreadable, truncated or not an image.
 */
export async function decodeImage(source: ImageSource, height: number, width: number, options: DecodeOptions = {}): Promise<Uint8Array> {
  const label = imageLabel(source);
  const bytes = await readBytes(source, { maxBytes: MAX_IMAGE_BYTES, what: 'decodeImage' });
  const rgb = await platform().decodeImage(bytes, label);
  if (rgb.data.length !== rgb.width * rgb.height * 3) {
    throw new Error(`${label}: decoded to ${rgb.data.length} bytes, expected ${rgb.width}x${rgb.height}x3`);
  }
  return resizeRgb(rgb, height, width, options);
}
