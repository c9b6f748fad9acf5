// Indexing a class-folder tree the way Keras does: one label per subfolder (sorted names), images found recursively,
// through the platform's file store (the file system in Node, OPFS in a browser).

import { platform } from '../platform/platform.js';
import { extName, joinPath } from '../platform/paths.js';

/** File extensions read as images (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif'];

/** Every image under a class-folder tree, in Keras' order: by class, then by folder path, then by file name. */
export interface ImageIndex {
  /** File paths (absolute in Node). */
  paths: string[];
  /** Class index of each path. */
  labels: number[];
  /** Class folder names; the label of a file is its folder's index here. */
  classNames: string[];
}

/** How the tree is read. */
export interface IndexOptions {
  /** Explicit classes (folder names) and their order; default: every subfolder, sorted. */
  classNames?: readonly string[];
  /** Descend into symbolically linked folders below the class folders (default false, as in Keras). */
  followLinks?: boolean;
}

/** Whether a file name has an image extension. */
export const isImageName = (name: string): boolean => IMAGE_EXTENSIONS.includes(extName(name));

/** Collects [folder, sorted image names] pairs below `root`. */
async function walk(root: string, followLinks: boolean, out: [string, string[]][]): Promise<void> {
  const files: string[] = [];
  for (const e of await platform().files.list(root)) {
    const full = joinPath(root, e.name);
    if (e.directory && (!e.link || followLinks)) await walk(full, followLinks, out);
    else if (!e.directory && isImageName(e.name)) files.push(e.name);
  }
  out.push([root, files.sort()]);
}

/** Lists the images of a class-folder tree; throws naming `op` and the path when it is missing or holds no images. */
export async function indexImageFolder(op: string, dir: string, options: IndexOptions = {}): Promise<ImageIndex> {
  const files = platform().files;
  const root = files.resolve(dir);
  if (!(await files.isDirectory(root))) {
    throw new Error((await files.fileSize(root)) === null ? `Graft ${op}: directory not found: ${dir}` : `Graft ${op}: not a directory: ${dir}`);
  }
  const subfolders = (await files.list(root)).filter((e) => e.directory).map((e) => e.name).sort();
  const classNames = options.classNames ? [...options.classNames] : subfolders;
  for (const c of classNames) {
    if (!subfolders.includes(c)) throw new Error(`Graft ${op}: class folder '${c}' not found in ${dir} (found: ${subfolders.join(', ') || 'none'})`);
  }
  if (classNames.length === 0) throw new Error(`Graft ${op}: no class subfolders in ${dir} (expected ${dir}/<class>/<image files>)`);
  const paths: string[] = [];
  const labels: number[] = [];
  for (const [label, name] of classNames.entries()) {
    const folders: [string, string[]][] = [];
    await walk(joinPath(root, name), options.followLinks ?? false, folders);
    // NOTE: Keras sorts os.walk's folders by path string before listing their files.
    folders.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [folder, names] of folders) {
      for (const f of names) {
        paths.push(joinPath(folder, f));
        labels.push(label);
      }
    }
  }
  if (paths.length === 0) {
    throw new Error(`Graft ${op}: no images found in ${dir} (looked for ${IMAGE_EXTENSIONS.join(', ')} in ${classNames.length} class folders)`);
  }
  return { paths, labels, classNames };
}
