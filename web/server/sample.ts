// The one-click sample of the web page: a few images per class from an image-folder tree (food10's train/), listed
// as JSON and served only by name from that listing.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_EXTENSIONS } from '../../src/data/image-folder.js';

/** The JSON the page fetches: class names with the URLs of their images. */
export interface SampleListing {
  name: string;
  classes: { name: string; images: string[] }[];
}

/** Options of listSample. */
export interface SampleOptions {
  /** Folder with one subfolder of images per class. */
  dir: string;
  /** URL prefix the images are served under, e.g. '/sample/food10/'. */
  urlPrefix: string;
  /** Images taken per class (the first ones by name). */
  perClass: number;
  /** Classes taken (the first ones by name); default all. */
  classes?: number;
}

/** A listing plus the files it names (URL path -> absolute file), the only files served under the prefix. */
export interface Sample {
  listing: SampleListing;
  files: Map<string, string>;
}

const isImage = (name: string) => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));
const sorted = (xs: string[]) => xs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Lists `perClass` images of each class folder under `dir`; throws naming the folder when it is missing or empty. */
export function listSample(o: SampleOptions): Sample {
  if (!(Number.isInteger(o.perClass) && o.perClass > 0)) throw new Error(`sample: images per class must be a positive integer, got ${o.perClass}`);
  let names: string[];
  try {
    names = sorted(readdirSync(o.dir).filter((n) => statSync(join(o.dir, n)).isDirectory()));
  } catch (e) {
    throw new Error(`sample: cannot read ${o.dir} (${(e as Error).message})`);
  }
  if (o.classes !== undefined) names = names.slice(0, o.classes);
  const files = new Map<string, string>();
  const classes = names.map((name) => {
    const images = sorted(readdirSync(join(o.dir, name)).filter(isImage)).slice(0, o.perClass).map((f) => {
      const url = `${o.urlPrefix}${encodeURIComponent(name)}/${encodeURIComponent(f)}`;
      files.set(url, join(o.dir, name, f));
      return url;
    });
    return { name, images };
  }).filter((c) => c.images.length > 0);
  if (classes.length < 2) throw new Error(`sample: ${o.dir} needs at least 2 class folders with images, found ${classes.length}`);
  return { listing: { name: o.dir.split(/[\\/]/).filter(Boolean).slice(-2).join('/'), classes }, files };
}
